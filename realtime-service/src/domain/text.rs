//! Chat text and hangout names: bounded length, no control characters other
//! than newlines and tabs, not blank.

/// Why a text was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum InvalidText {
    #[error("the text is empty")]
    Empty,
    #[error("the text is longer than {0} characters")]
    TooLong(usize),
    #[error("the text is longer than {0} bytes")]
    TooManyBytes(usize),
    #[error("the text contains control characters")]
    ControlCharacters,
}

fn check(raw: &str, max_chars: usize, allow_newlines: bool) -> Result<(), InvalidText> {
    if raw.trim().is_empty() {
        return Err(InvalidText::Empty);
    }
    if raw.chars().count() > max_chars {
        return Err(InvalidText::TooLong(max_chars));
    }
    let bad = raw
        .chars()
        .any(|c| c.is_control() && !(allow_newlines && matches!(c, '\n' | '\t')));
    if bad {
        return Err(InvalidText::ControlCharacters);
    }
    Ok(())
}

/// The text of a chat message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Bounded in characters (what users see) and in UTF-8 bytes (what
    /// memory and the wire see), the bytes checked first.
    pub fn parse(raw: String, max_chars: usize, max_bytes: usize) -> Result<Self, InvalidText> {
        if raw.len() > max_bytes {
            return Err(InvalidText::TooManyBytes(max_bytes));
        }
        check(&raw, max_chars, true)?;
        Ok(Self(raw))
    }
    pub fn into_inner(self) -> String {
        self.0
    }
}

/// A hangout's display name (one line, at most 64 characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HangoutName(String);

impl HangoutName {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, InvalidText> {
        let trimmed = raw.trim();
        check(trimmed, Self::MAX_CHARS, false)?;
        Ok(Self(trimmed.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_bounded_and_clean() {
        assert!(MessageText::parse("hi\nthere".into(), 10, 40).is_ok());
        assert_eq!(
            MessageText::parse("  ".into(), 10, 40),
            Err(InvalidText::Empty)
        );
        assert_eq!(
            MessageText::parse("é".repeat(11), 10, 40),
            Err(InvalidText::TooLong(10))
        );
        assert_eq!(
            MessageText::parse("a\u{7}b".into(), 10, 40),
            Err(InvalidText::ControlCharacters)
        );
        // Within the characters, over the bytes: refused before counting.
        assert_eq!(
            MessageText::parse("😀".repeat(10), 10, 20),
            Err(InvalidText::TooManyBytes(20))
        );
    }

    #[test]
    fn hangout_names_are_one_line() {
        assert_eq!(
            HangoutName::parse(" Friday ").map(|n| n.as_str().to_owned()),
            Ok("Friday".into())
        );
        assert!(HangoutName::parse("a\nb").is_err());
        assert!(HangoutName::parse(&"x".repeat(65)).is_err());
    }
}
