//! GB/T 38540 (v4) and GM/T 0031 (v1, v5) electronic seal and signature structures: DER in and out.
