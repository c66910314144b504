//! A staffer's edit of a prepared wiki notice: whether the text posted is the prepared one, and
//! which lines changed, for the case to keep and the case page to show (pure).
//!
//! The prepared text carries typed values only through `escape_*` ([`super::notices`]); the
//! staffer's edit is their own wikitext, posted as typed under their own wiki account. So the
//! case keeps both texts whenever they differ, and says so.

/// Most lines of either text compared line by line; longer texts are shown as wholly replaced.
const MAX_LINES: usize = 2000;

/// Whether `posted` is `prepared` as the browser sends it back: line endings and blank space at
/// either end aside (a textarea drops a leading line break). Such a text is posted exactly as
/// prepared.
pub fn is_unchanged(prepared: &str, posted: &str) -> bool {
    prepared.replace("\r\n", "\n").trim() == posted.replace("\r\n", "\n").trim()
}

/// One line of the comparison of the prepared text with the posted one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// In both.
    Kept(&'a str),
    /// Only in the prepared text.
    Removed(&'a str),
    /// Only in the posted text.
    Added(&'a str),
}

/// The lines of `prepared` and `posted` in order, each kept, removed or added (a longest common
/// subsequence of lines; texts beyond [`MAX_LINES`] lines show as all removed, then all added).
pub fn line_changes<'a>(prepared: &'a str, posted: &'a str) -> Vec<Line<'a>> {
    let old: Vec<&str> = prepared.lines().collect();
    let new: Vec<&str> = posted.lines().collect();
    let head = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let tail = old[head..].iter().rev().zip(new[head..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (old_mid, new_mid) = (&old[head..old.len() - tail], &new[head..new.len() - tail]);
    let mut lines: Vec<Line<'a>> = old[..head].iter().map(|l| Line::Kept(l)).collect();
    if old_mid.len() > MAX_LINES || new_mid.len() > MAX_LINES {
        lines.extend(old_mid.iter().map(|l| Line::Removed(l)));
        lines.extend(new_mid.iter().map(|l| Line::Added(l)));
    } else {
        // common[i][j]: the longest common subsequence of old_mid[i..] and new_mid[j..].
        let (n, m) = (old_mid.len(), new_mid.len());
        let mut common = vec![vec![0u32; m + 1]; n + 1];
        for i in (0..n).rev() {
            for j in (0..m).rev() {
                common[i][j] = if old_mid[i] == new_mid[j] {
                    common[i + 1][j + 1] + 1
                } else {
                    common[i + 1][j].max(common[i][j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < n || j < m {
            if i < n && j < m && old_mid[i] == new_mid[j] {
                lines.push(Line::Kept(old_mid[i]));
                i += 1;
                j += 1;
            } else if j == m || (i < n && common[i + 1][j] >= common[i][j + 1]) {
                lines.push(Line::Removed(old_mid[i]));
                i += 1;
            } else {
                lines.push(Line::Added(new_mid[j]));
                j += 1;
            }
        }
    }
    lines.extend(old[old.len() - tail..].iter().map(|l| Line::Kept(l)));
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_sent_back_with_other_line_endings_or_outer_blank_space_is_unchanged() {
        let prepared = "\n== Notice ==\nFirst line.\nSecond line.\n";
        assert!(is_unchanged(prepared, "== Notice ==\r\nFirst line.\r\nSecond line."));
        assert!(!is_unchanged(prepared, "== Notice ==\nFirst line.\nSecond line, edited."));
        assert!(!is_unchanged(prepared, "== Notice ==\nFirst line.\n\nSecond line."));
    }

    #[test]
    fn changed_lines_are_named_as_removed_or_added_and_the_rest_kept() {
        let prepared = "a\nb\nc\nd";
        let posted = "a\nB\nc\nd\ne";
        assert_eq!(
            line_changes(prepared, posted),
            [
                Line::Kept("a"),
                Line::Removed("b"),
                Line::Added("B"),
                Line::Kept("c"),
                Line::Kept("d"),
                Line::Added("e")
            ]
        );
        assert_eq!(line_changes("a\nb", "b"), [Line::Removed("a"), Line::Kept("b")]);
        assert_eq!(line_changes("same", "same"), [Line::Kept("same")]);
    }

    #[test]
    fn very_long_texts_show_as_replaced_without_a_quadratic_table() {
        let prepared: String = (0..=MAX_LINES).map(|i| format!("old {i}\n")).collect();
        let posted: String = (0..=MAX_LINES).map(|i| format!("new {i}\n")).collect();
        let lines = line_changes(&prepared, &posted);
        assert_eq!(lines.len(), 2 * (MAX_LINES + 1));
        assert!(
            matches!(lines[0], Line::Removed("old 0"))
                && matches!(lines[MAX_LINES + 1], Line::Added("new 0"))
        );
    }
}
