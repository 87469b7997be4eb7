//! The XMP metadata packet (ISO 16684-1) of a written PDF: title, creator tool, producer and
//! creation date as the Info dictionary has them, and the PDF/A identification (part 2,
//! conformance B).

use quick_xml::escape::escape;

/// What the packet states.
pub(super) struct Fields<'a> {
    /// `dc:title` (x-default).
    pub(super) title: &'a str,
    /// `xmp:CreatorTool`.
    pub(super) creator: &'a str,
    /// `pdf:Producer`.
    pub(super) producer: &'a str,
    /// `xmp:CreateDate`, the UTC midnight of the date (as the Info `/CreationDate`).
    pub(super) created: time::Date,
}

/// The packet, with the fixed `W5M0…` packet id and a read-only end marker.
pub(super) fn packet(f: &Fields<'_>) -> String {
    let date = format!(
        "{:04}-{:02}-{:02}T00:00:00Z",
        f.created.year(),
        u8::from(f.created.month()),
        f.created.day()
    );
    format!(
        "<?xpacket begin=\"\u{FEFF}\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n\
         <x:xmpmeta xmlns:x=\"adobe:ns:meta/\">\n\
         <rdf:RDF xmlns:rdf=\"http://www.w3.org/1999/02/22-rdf-syntax-ns#\">\n\
         <rdf:Description rdf:about=\"\" \
         xmlns:dc=\"http://purl.org/dc/elements/1.1/\" \
         xmlns:xmp=\"http://ns.adobe.com/xap/1.0/\" \
         xmlns:pdf=\"http://ns.adobe.com/pdf/1.3/\" \
         xmlns:pdfaid=\"http://www.aiim.org/pdfa/ns/id/\">\n\
         <dc:title><rdf:Alt><rdf:li xml:lang=\"x-default\">{title}</rdf:li></rdf:Alt></dc:title>\n\
         <xmp:CreatorTool>{creator}</xmp:CreatorTool>\n\
         <xmp:CreateDate>{date}</xmp:CreateDate>\n\
         <pdf:Producer>{producer}</pdf:Producer>\n\
         <pdfaid:part>2</pdfaid:part>\n\
         <pdfaid:conformance>B</pdfaid:conformance>\n\
         </rdf:Description>\n\
         </rdf:RDF>\n\
         </x:xmpmeta>\n\
         <?xpacket end=\"r\"?>",
        title = escape(f.title),
        creator = escape(f.creator),
        producer = escape(f.producer),
    )
}
