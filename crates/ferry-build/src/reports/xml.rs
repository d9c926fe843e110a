//! A small, safe pull parser over quick-xml shared by the XML formats: events are borrowed
//! from the input (no DOM), empty elements come as an open + a close, entity references are
//! resolved (predefined entities and character references only), CDATA is text, and
//! well-formedness (matching end tags, one root, nothing unclosed at the end, bounded depth)
//! is enforced. A DOCTYPE naming an external DTD is skipped (never fetched); one with an
//! internal subset or entity declarations is refused.

use super::Res;
use quick_xml::Reader;
use quick_xml::encoding::Decoder;
use quick_xml::events::{BytesStart, Event};
use std::borrow::Cow;

/// Deeper nesting than this is refused.
const MAX_DEPTH: usize = 256;

pub(crate) enum Ev<'a> {
    Open(BytesStart<'a>),
    Close,
    Text(Cow<'a, str>),
    Eof,
}

pub(crate) struct Xml<'a> {
    reader: Reader<&'a [u8]>,
    depth: usize,
    root_seen: bool,
    open: Vec<Vec<u8>>,
}

impl<'a> Xml<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut reader = Reader::from_str(text);
        let config = reader.config_mut();
        config.expand_empty_elements = true;
        config.check_end_names = true;
        config.trim_text(false);
        Xml {
            reader,
            depth: 0,
            root_seen: false,
            open: Vec::new(),
        }
    }

    fn decoder(&self) -> Decoder {
        self.reader.decoder()
    }

    fn malformed(&self, what: impl std::fmt::Display) -> String {
        format!(
            "malformed XML near byte {}: {what}",
            self.reader.error_position()
        )
    }

    /// The next event that matters.
    pub(crate) fn next(&mut self) -> Res<Ev<'a>> {
        loop {
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => return Err(self.malformed(e)),
            };
            match event {
                Event::Start(e) => {
                    if self.depth == 0 && self.root_seen {
                        return Err(self.malformed("more than one root element"));
                    }
                    self.depth += 1;
                    self.root_seen = true;
                    if self.depth > MAX_DEPTH {
                        return Err(format!("elements nested deeper than {MAX_DEPTH} levels"));
                    }
                    self.open.push(e.local_name().as_ref().to_vec());
                    return Ok(Ev::Open(e));
                }
                Event::End(_) => {
                    self.depth = self.depth.saturating_sub(1);
                    self.open.pop();
                    return Ok(Ev::Close);
                }
                Event::Empty(_) => {
                    // expand_empty_elements turns these into Start + End.
                    return Err(self.malformed("unexpected empty element"));
                }
                Event::Text(t) => {
                    let text = t.decode().map_err(|e| self.malformed(e))?;
                    if self.depth == 0 {
                        if !text.trim().is_empty() {
                            return Err(self.malformed("text outside the root element"));
                        }
                        continue;
                    }
                    return Ok(Ev::Text(text));
                }
                Event::CData(t) => {
                    if self.depth == 0 {
                        return Err(self.malformed("CDATA outside the root element"));
                    }
                    let text = t.decode().map_err(|e| self.malformed(e))?;
                    return Ok(Ev::Text(text));
                }
                Event::GeneralRef(r) => {
                    if self.depth == 0 {
                        return Err(self.malformed("entity reference outside the root element"));
                    }
                    let c = match r.resolve_char_ref().map_err(|e| self.malformed(e))? {
                        Some(c) => c,
                        None => match &*r {
                            b"amp" => '&',
                            b"lt" => '<',
                            b"gt" => '>',
                            b"quot" => '"',
                            b"apos" => '\'',
                            other => {
                                return Err(self.malformed(format_args!(
                                    "undefined entity &{};",
                                    String::from_utf8_lossy(other)
                                )));
                            }
                        },
                    };
                    return Ok(Ev::Text(Cow::Owned(c.to_string())));
                }
                Event::DocType(d) => {
                    let decl = String::from_utf8_lossy(&d);
                    if decl.contains('[') || decl.contains("<!") || decl.contains("ENTITY") {
                        return Err(
                            "DOCTYPE with an internal subset or entity declarations is refused"
                                .to_owned(),
                        );
                    }
                }
                Event::Eof => {
                    if let Some(name) = self.open.last() {
                        return Err(format!(
                            "unexpected end of file: <{}> is not closed",
                            String::from_utf8_lossy(name)
                        ));
                    }
                    if !self.root_seen {
                        return Err("no root element (empty file?)".to_owned());
                    }
                    return Ok(Ev::Eof);
                }
                Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            }
        }
    }

    /// The value of attribute `name` (matched by local name), unescaped.
    pub(crate) fn attr(&self, e: &BytesStart<'_>, name: &str) -> Res<Option<String>> {
        for a in e.attributes() {
            let a = a.map_err(|err| {
                format!(
                    "malformed attribute in <{}>: {err}",
                    String::from_utf8_lossy(e.local_name().as_ref())
                )
            })?;
            if a.key.local_name().as_ref() == name.as_bytes() {
                let value = a.decode_and_unescape_value(self.decoder()).map_err(|err| {
                    format!(
                        "bad value of {name}= in <{}>: {err}",
                        String::from_utf8_lossy(e.local_name().as_ref())
                    )
                })?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    /// Skips the rest of the element just opened (its children and its close tag).
    pub(crate) fn skip_element(&mut self) -> Res<()> {
        let target = self.depth.saturating_sub(1);
        while self.depth > target {
            if let Ev::Eof = self.next()? {
                return Err("unexpected end of file".to_owned());
            }
        }
        Ok(())
    }

    /// The text content of the element just opened (descendants' text included), cut to
    /// [`super::MAX_MESSAGE_BYTES`]; consumes through its close tag.
    pub(crate) fn element_text(&mut self) -> Res<String> {
        let target = self.depth.saturating_sub(1);
        let mut text = String::new();
        while self.depth > target {
            match self.next()? {
                Ev::Text(t) => push_capped(&mut text, &t),
                Ev::Eof => return Err("unexpected end of file".to_owned()),
                Ev::Open(_) | Ev::Close => {}
            }
        }
        Ok(text)
    }
}

/// The local name of an element.
pub(crate) fn name<'b>(e: &'b BytesStart<'_>) -> &'b [u8] {
    e.local_name().into_inner()
}

/// Appends text while the buffer is under [`super::MAX_MESSAGE_BYTES`].
pub(crate) fn push_capped(buf: &mut String, text: &str) {
    let room = super::MAX_MESSAGE_BYTES.saturating_sub(buf.len());
    if room == 0 {
        return;
    }
    if text.len() <= room {
        buf.push_str(text);
    } else {
        let mut end = room;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        buf.push_str(&text[..end]);
    }
}

/// Checks the root element's local name.
pub(crate) fn expect_root(e: &BytesStart<'_>, allowed: &[&str]) -> Res<()> {
    let found = name(e);
    if allowed.iter().any(|a| a.as_bytes() == found) {
        return Ok(());
    }
    let expected: Vec<String> = allowed.iter().map(|a| format!("<{a}>")).collect();
    Err(format!(
        "expected a {} root element, found <{}>",
        expected.join(" or "),
        String::from_utf8_lossy(found)
    ))
}

/// Reads up to the root element and returns it (checked against `allowed`).
pub(crate) fn root<'a>(x: &mut Xml<'a>, allowed: &[&str]) -> Res<BytesStart<'a>> {
    loop {
        match x.next()? {
            Ev::Open(e) => {
                expect_root(&e, allowed)?;
                return Ok(e);
            }
            Ev::Eof => return Err("no root element (empty file?)".to_owned()),
            Ev::Text(_) | Ev::Close => {}
        }
    }
}

/// Parses a non-negative integer attribute value; blank → `None`.
pub(crate) fn int(value: Option<&str>, what: &str) -> Res<Option<i64>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v
            .parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(Some)
            .ok_or_else(|| format!("{what} is not a non-negative integer: {v:?}")),
    }
}
