//! Where in a TOML text an error is: the 1-based line and the dotted key, for messages that
//! point the user at the exact setting.

/// The line (1-based) of byte `offset` and the key being set there, as a dotted path
/// including the enclosing `[table]` and inline tables (`warn.fg`).
pub fn locate(text: &str, offset: usize) -> (usize, Option<String>) {
    let offset = floor_char_boundary(text, offset.min(text.len()));
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line_no = text[..line_start].matches('\n').count() + 1;
    let line_end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let line = &text[line_start..line_end];
    let before = &text[line_start..offset];

    let mut path: Vec<String> = Vec::new();
    // The [table] this line belongs to.
    if let Some(header) = text[..line_start]
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('[') && !l.starts_with("[["))
    {
        let name = header
            .trim_start_matches('[')
            .split(']')
            .next()
            .unwrap_or("");
        path.extend(name.split('.').map(clean).filter(|k| !k.is_empty()));
    }
    path.extend(open_keys(before));
    // An error on a key itself (an unknown setting): the key starting at the offset.
    let rest = &line[before.len()..];
    if let Some((word, _)) = rest.split_once('=') {
        let word = clean(word);
        if !word.is_empty()
            && word
                .chars()
                .all(|c| c.is_alphanumeric() || "-_.\"'".contains(c))
        {
            path.push(word);
        }
    }
    let key = (!path.is_empty()).then(|| path.join("."));
    (line_no, key)
}

/// Keys whose values are still open at the end of `before` (`a = { b = 1, c = ` gives a, c).
fn open_keys(before: &str) -> Vec<String> {
    let mut keys: Vec<(String, usize)> = Vec::new();
    let (mut depth, mut word, mut in_string) = (0usize, String::new(), None::<char>);
    let mut chars = before.chars();
    while let Some(c) = chars.next() {
        if let Some(quote) = in_string {
            match c {
                '\\' if quote == '"' => {
                    chars.next();
                }
                c if c == quote => in_string = None,
                c => word.push(c),
            }
            continue;
        }
        match c {
            '"' | '\'' => in_string = Some(c),
            '=' => {
                keys.push((clean(&word), depth));
                word.clear();
            }
            '{' | '[' => {
                depth += 1;
                word.clear();
            }
            ',' | '}' | ']' => {
                if keys.last().is_some_and(|k| k.1 == depth) {
                    keys.pop();
                }
                if c != ',' {
                    depth = depth.saturating_sub(1);
                }
                word.clear();
            }
            c => word.push(c),
        }
    }
    keys.into_iter()
        .map(|(k, _)| k)
        .filter(|k| !k.is_empty())
        .collect()
}

fn clean(word: &str) -> String {
    word.trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '{' || c == ',')
        .trim()
        .to_string()
}

fn floor_char_boundary(text: &str, mut i: usize) -> usize {
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_line_and_dotted_key() {
        let text = "name = \"x\"\nwarn = { fg = \"purple\" }\n[crit]\nbg = 7\nbold = \"yes\"\n";
        let at = |needle: &str| locate(text, text.find(needle).unwrap());
        assert_eq!(at("\"purple\""), (2, Some("warn.fg".into())));
        assert_eq!(at("\"yes\""), (5, Some("crit.bold".into())));
        assert_eq!(at("warn"), (2, Some("warn".into())));
        assert_eq!(at("\"x\""), (1, Some("name".into())));
        assert_eq!(locate("", 0), (1, None));
    }
}
