//! Rich text for pages: files highlighted by their syntax (syntect's bundled grammars and
//! themes, loaded once on first use; each line its own piece of HTML, so lines keep their
//! anchors), and Markdown readmes rendered to HTML (comrak, which drops raw HTML) and then
//! sanitised (ammonia), so neither can carry markup a user planted. Large files are left plain.

use std::sync::LazyLock;

use syntect::easy::HighlightLines;
use syntect::highlighting::{Theme, ThemeSet};
use syntect::html::{IncludeBackground, styled_line_to_highlighted_html};
use syntect::parsing::SyntaxSet;
use syntect::util::LinesWithEndings;

/// Files larger than this are shown without highlighting.
const MAX_HIGHLIGHT: usize = 256 * 1024;

static SYNTAXES: LazyLock<SyntaxSet> = LazyLock::new(SyntaxSet::load_defaults_newlines);
static THEME: LazyLock<Theme> = LazyLock::new(|| {
    let mut themes = ThemeSet::load_defaults();
    themes.themes.remove("InspiredGitHub").unwrap_or_default()
});

/// Each line of `text` as highlighted HTML for the file `path`, when its syntax is known and
/// it is small enough; `None` to show it plain.
pub fn highlight(path: &str, text: &str) -> Option<Vec<String>> {
    if text.len() > MAX_HIGHLIGHT {
        return None;
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    let ext = name.rsplit_once('.').map_or(name, |(_, e)| e);
    let syntax = SYNTAXES
        .find_syntax_by_extension(ext)
        .or_else(|| SYNTAXES.find_syntax_by_first_line(text.lines().next().unwrap_or_default()))?;
    if syntax.name == "Plain Text" {
        return None;
    }
    let mut h = HighlightLines::new(syntax, &THEME);
    let mut out = Vec::new();
    for line in LinesWithEndings::from(text) {
        let regions = h.highlight_line(line, &SYNTAXES).ok()?;
        let html = styled_line_to_highlighted_html(&regions, IncludeBackground::No).ok()?;
        out.push(html.trim_end_matches(['\n', '\r']).to_owned());
    }
    Some(out)
}

/// `markdown` as sanitised HTML.
pub fn markdown(markdown: &str) -> String {
    let mut options = comrak::Options::default();
    options.extension.table = true;
    options.extension.strikethrough = true;
    options.extension.autolink = true;
    let html = comrak::markdown_to_html(markdown, &options);
    ammonia::clean(&html)
}

/// Whether a file name is a readme worth rendering as Markdown.
pub fn is_markdown_readme(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower == "readme.md" || lower == "readme.markdown"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn highlighting_escapes_and_keeps_lines() {
        let lines = highlight("main.rs", "fn main() {\n    let s = \"<script>\";\n}\n").unwrap();
        assert_eq!(lines.len(), 3);
        assert!(lines[1].contains("&lt;script&gt;") && !lines[1].contains("<script>"));
        assert!(lines[0].contains("<span"));
        assert!(highlight("notes.unknownext", "plain\n").is_none());
    }

    #[test]
    fn markdown_is_rendered_and_sanitised() {
        let html = markdown(
            "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <img src=x onerror=alert(1)>\n",
        );
        assert!(html.contains("<h1>Title</h1>"), "{html}");
        assert!(
            !html.contains("<script") && !html.contains("onerror") && !html.contains("javascript:"),
            "{html}"
        );
    }
}
