//! The one error type of the grammar: what kind of client mistake, the OSS EC code when one is
//! known, and a message that names the action, the parameter and the allowed range.

use std::fmt::{self, Write as _};

/// The OSS `<Code>` class of a parse error. Every grammar error is the client's fault (HTTP 400).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// A value is present but not allowed (bad number, bad keyword, unknown action...).
    InvalidArgument,
    /// Something required is absent (no action, no value, no size...).
    MissingArgument,
    /// The input cannot be decoded at all (bad base64).
    BadRequest,
}

impl ErrorKind {
    /// The OSS error `<Code>` string.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::InvalidArgument => "InvalidArgument",
            ErrorKind::MissingArgument => "MissingArgument",
            ErrorKind::BadRequest => "BadRequest",
        }
    }
}

/// A rejected `x-oss-process` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError {
    /// The OSS error code class.
    pub kind: ErrorKind,
    /// The OSS `EC` (`x-oss-ec`) when OSS documents one for this mistake.
    pub ec: Option<&'static str>,
    /// Public, human-readable message; echoes at most [`MAX_ECHO`] characters of user input.
    pub message: String,
}

impl SpecError {
    pub(crate) fn invalid(ec: Option<&'static str>, message: String) -> Self {
        SpecError { kind: ErrorKind::InvalidArgument, ec, message }
    }

    pub(crate) fn missing(ec: Option<&'static str>, message: String) -> Self {
        SpecError { kind: ErrorKind::MissingArgument, ec, message }
    }

    pub(crate) fn bad_request(ec: Option<&'static str>, message: String) -> Self {
        SpecError { kind: ErrorKind::BadRequest, ec, message }
    }

    /// Prefixes the message with some context (used for nested grammars).
    pub(crate) fn context(mut self, prefix: &str) -> Self {
        self.message.insert_str(0, prefix);
        self
    }

    /// Appends a hint to the message (`<message>; <hint>`).
    pub(crate) fn hint(mut self, hint: &str) -> Self {
        self.message.push_str("; ");
        self.message.push_str(hint);
        self
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.kind.code(), self.message)?;
        if let Some(ec) = self.ec {
            write!(f, " (EC {ec})")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

/// At most this many characters of user input appear in an error message.
pub const MAX_ECHO: usize = 64;

/// Displays user input quoted and escaped (`"a\nb"`), cut after [`MAX_ECHO`] characters (`"aaa…"`).
pub(crate) struct Echo<'a>(pub(crate) &'a str);

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_char('"')?;
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX_ECHO {
                f.write_char('…')?;
                break;
            }
            for e in c.escape_debug() {
                f.write_char(e)?;
            }
        }
        f.write_char('"')
    }
}

/// Displays user input unquoted, control characters replaced by U+FFFD, cut after [`MAX_ECHO`]
/// characters (for messages whose exact OSS wording has no quotes).
pub(crate) struct Plain<'a>(pub(crate) &'a str);

impl fmt::Display for Plain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.0.chars().enumerate() {
            if i == MAX_ECHO {
                f.write_char('…')?;
                break;
            }
            f.write_char(if c.is_control() { '\u{FFFD}' } else { c })?;
        }
        Ok(())
    }
}
