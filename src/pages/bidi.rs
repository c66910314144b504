//! Bidirectional-text controls made visible on every page.
//!
//! A name, a title or a file name typed with U+202E (right-to-left override) and its relatives
//! displays reversed or reordered ("gpj.exe" read as "exe.jpg"), so what a staffer reads on a case
//! page would not be what was recorded. Every page passes through [`reveal`] before it is sent:
//! in the page's text each such control is replaced by its code point in brackets
//! (`[U+202E]`), so the text reads in stored order and the control is seen. Inside tags
//! (attribute values such as an `<input>`'s value) and inside `<textarea>` the text is left as
//! typed, so a form sent back for correction loses nothing.
//!
//! This works on the rendered HTML because maud escapes `<`, `>`, `&` and `"` in every value:
//! a `<` in the output always starts a tag this program wrote.

/// Whether `c` changes the direction or embedding of the text around it.
pub fn is_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// `page` with every bidirectional control in its text replaced by `[U+XXXX]`.
pub fn reveal(page: String) -> String {
    if !page.chars().any(is_control) {
        return page;
    }
    let mut out = String::with_capacity(page.len() + 32);
    let mut rest = page.as_str();
    while let Some(start) = rest.find('<') {
        let (text, from_tag) = rest.split_at(start);
        push_revealed(&mut out, text);
        let tag_end = from_tag.find('>').map_or(from_tag.len(), |i| i + 1);
        let (tag, after) = from_tag.split_at(tag_end);
        out.push_str(tag);
        rest = after;
        if is_start_tag(tag, "textarea") {
            // A textarea's content is the value the form sends back: kept as typed.
            let close = find_ascii_case_insensitive(rest, "</textarea").unwrap_or(rest.len());
            out.push_str(&rest[..close]);
            rest = &rest[close..];
        }
    }
    push_revealed(&mut out, rest);
    out
}

fn push_revealed(out: &mut String, text: &str) {
    for c in text.chars() {
        if is_control(c) {
            out.push_str(&format!("[U+{:04X}]", u32::from(c)));
        } else {
            out.push(c);
        }
    }
}

fn is_start_tag(tag: &str, name: &str) -> bool {
    let Some(after) = tag.strip_prefix('<') else { return false };
    after.len() > name.len()
        && after[..name.len()].eq_ignore_ascii_case(name)
        && after[name.len()..].starts_with(|c: char| c == '>' || c == '/' || c.is_ascii_whitespace())
}

fn find_ascii_case_insensitive(haystack: &str, needle: &str) -> Option<usize> {
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window.eq_ignore_ascii_case(needle.as_bytes()))
}

#[cfg(test)]
mod tests {
    use maud::html;

    use super::*;

    #[test]
    fn a_control_in_text_is_shown_as_its_code_point() {
        let typed = "Holiday\u{202E}gpj.exe";
        let page = html! { p { "File: " (typed) } }.into_string();
        assert_eq!(reveal(page), "<p>File: Holiday[U+202E]gpj.exe</p>");
    }

    #[test]
    fn every_kind_of_control_is_revealed() {
        for c in
            ['\u{061C}', '\u{200E}', '\u{200F}', '\u{202A}', '\u{202B}', '\u{202C}', '\u{202D}', '\u{202E}']
                .into_iter()
                .chain(['\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}'])
        {
            let revealed = reveal(format!("<td>a{c}b</td>"));
            assert!(!revealed.contains(c), "{c:?} survived: {revealed}");
            assert!(revealed.contains(&format!("[U+{:04X}]", u32::from(c))), "{revealed}");
        }
    }

    #[test]
    fn form_values_are_left_as_typed() {
        let typed = "Name\u{202E}reversed";
        let page = html! {
            input type="text" name="n" value=(typed);
            textarea name="t" { (typed) }
            TEXTAREA name="u" { (typed) }
            p { (typed) }
        }
        .into_string();
        let revealed = reveal(page);
        assert_eq!(
            revealed.matches('\u{202E}').count(),
            3,
            "input and both textareas keep theirs: {revealed}"
        );
        assert!(revealed.ends_with("<p>Name[U+202E]reversed</p>"), "{revealed}");
    }

    #[test]
    fn a_page_without_controls_is_unchanged() {
        let page = "<p>Ünïcode and عربى text</p>".to_owned();
        assert_eq!(reveal(page.clone()), page);
    }

    #[test]
    fn a_textarea_named_like_another_tag_does_not_confuse_it() {
        // `<textareax>` is not a textarea; its text is revealed.
        assert_eq!(reveal("<textareax>\u{202E}</textareax>".into()), "<textareax>[U+202E]</textareax>");
    }
}
