//! Error text for people: an error followed by the chain of its causes, since many errors
//! (the database driver's, the template engine's) print only their own level.

use std::error::Error;

/// `error: cause: cause of the cause…`.
pub fn with_causes(error: &dyn Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        // Some errors repeat their cause in their own text.
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn causes_follow_the_error() {
        let error = Outer(std::io::Error::other("inner"));
        assert_eq!(with_causes(&error), "outer: inner");
        assert_eq!(with_causes(&std::io::Error::other("alone")), "alone");
    }
}
