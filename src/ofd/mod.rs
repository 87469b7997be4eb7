//! OFD (GB/T 33190) packages: bounded reading and the signatures of §18.
