//! XML in and out. Out: a small writer with S3's namespace and escaping. In: request bodies
//! (`Delete`, `CompleteMultipartUpload`, `VersioningConfiguration`,
//! `CreateBucketConfiguration`) parsed into a tiny element tree with size and depth limits;
//! anything not well-formed is `MalformedXML`.

use quick_xml::events::Event;

use crate::error::S3Error;

/// S3's response namespace.
pub const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";
/// The largest XML request body read.
pub const MAX_XML_BODY: usize = 2 * 1024 * 1024;
const MAX_DEPTH: usize = 16;

/// Escapes text for element content and attribute values. Characters XML 1.0 cannot carry
/// (C0 controls other than tab and line feed, U+FFFE, U+FFFF) are written as character
/// references, as S3 writes them: such keys are legal, and clients that cannot read the
/// result ask for `encoding-type=url`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\r' => out.push_str("&#13;"),
            c if (c < ' ' && c != '\t' && c != '\n') || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push_str(&format!("&#x{:X};", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// Builds a response document.
pub struct XmlOut {
    buf: String,
}

impl XmlOut {
    /// A document whose root element is `root` in S3's namespace.
    pub fn new(root: &str) -> Self {
        Self {
            buf: format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"{NS}\">"),
        }
    }

    pub fn open(&mut self, name: &str) -> &mut Self {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    pub fn close(&mut self, name: &str) -> &mut Self {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
        self
    }

    /// `<name>text</name>`, escaped.
    pub fn leaf(&mut self, name: &str, text: &str) -> &mut Self {
        self.open(name);
        self.buf.push_str(&escape(text));
        self.close(name)
    }

    /// Ends the document with `</root>`.
    pub fn finish(mut self, root: &str) -> String {
        self.close(root);
        self.buf
    }
}

/// An element of a parsed request body.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Node {
    /// Local name (any namespace prefix dropped).
    pub name: String,
    pub text: String,
    pub children: Vec<Node>,
}

impl Node {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The text of the first child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }
}

/// Parses a body into its root element.
pub fn parse(body: &[u8]) -> Result<Node, S3Error> {
    let mut reader = quick_xml::Reader::from_reader(body);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let bad = |_| S3Error::malformed_xml();
    loop {
        match reader.read_event().map_err(bad)? {
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH || root.is_some() {
                    return Err(S3Error::malformed_xml());
                }
                stack.push(Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                });
            }
            Event::Empty(e) => {
                let node = Node {
                    name: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    ..Node::default()
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None if root.is_none() => root = Some(node),
                    None => return Err(S3Error::malformed_xml()),
                }
            }
            Event::End(_) => {
                let mut node = stack.pop().ok_or_else(S3Error::malformed_xml)?;
                if !node.children.is_empty() {
                    node.text = node.text.trim().to_owned();
                }
                match stack.last_mut() {
                    Some(parent) => parent.children.push(node),
                    None => root = Some(node),
                }
            }
            Event::Text(t) => {
                let text = t.decode().map_err(|_| S3Error::malformed_xml())?;
                match stack.last_mut() {
                    Some(n) => n.text.push_str(&text),
                    None if text.trim().is_empty() => {}
                    None => return Err(S3Error::malformed_xml()),
                }
            }
            Event::CData(t) => {
                let n = stack.last_mut().ok_or_else(S3Error::malformed_xml)?;
                n.text.push_str(&String::from_utf8_lossy(&t));
            }
            Event::GeneralRef(r) => {
                let n = stack.last_mut().ok_or_else(S3Error::malformed_xml)?;
                let c = match r.resolve_char_ref().map_err(|_| S3Error::malformed_xml())? {
                    Some(c) => c,
                    None => match r.as_ref() {
                        b"amp" => '&',
                        b"lt" => '<',
                        b"gt" => '>',
                        b"quot" => '"',
                        b"apos" => '\'',
                        _ => return Err(S3Error::malformed_xml()),
                    },
                };
                n.text.push(c);
            }
            Event::Eof => break,
            Event::DocType(_) => return Err(S3Error::malformed_xml()),
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    root.ok_or_else(S3Error::malformed_xml)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_delete_documents() {
        let doc = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object><Key>a &amp; b&#47;c</Key></Object><Object><Key>x</Key><VersionId>v1</VersionId></Object><Quiet>true</Quiet></Delete>"#;
        let n = parse(doc).unwrap();
        assert_eq!(n.name, "Delete");
        let keys: Vec<&str> = n.all("Object").filter_map(|o| o.text_of("Key")).collect();
        assert_eq!(keys, ["a & b/c", "x"]);
        assert_eq!(n.text_of("Quiet"), Some("true"));
    }

    #[test]
    fn refuses_what_is_not_well_formed() {
        for bad in [
            &b"<a><b></a>"[..],
            b"<a>",
            b"",
            b"<a/><b/>",
            b"text",
            b"<a>&bogus;</a>",
            b"<!DOCTYPE x [<!ENTITY e \"boom\">]><a>&e;</a>",
        ] {
            assert_eq!(parse(bad).unwrap_err().code, "MalformedXML", "{bad:?}");
        }
        let deep = "<a>".repeat(20) + &"</a>".repeat(20);
        assert!(parse(deep.as_bytes()).is_err());
    }

    #[test]
    fn escapes_output() {
        let mut x = XmlOut::new("R");
        x.leaf("Key", "a<b>&\"c'");
        assert!(
            x.finish("R")
                .contains("<Key>a&lt;b&gt;&amp;&quot;c&apos;</Key></R>")
        );
        assert_eq!(escape("a\u{1}b\tc\r\n\u{1f}"), "a&#x1;b\tc&#13;\n&#x1F;");
    }
}
