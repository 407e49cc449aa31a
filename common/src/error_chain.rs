//! An error and all its causes on one line, for logs.
//!
//! Several libraries (tokio-postgres, rustls, tonic) put the useful part of
//! an error in `source()` and a generic message on top ("error connecting to
//! server"); logging only `Display` hides the cause. anyhow errors print
//! their chain with `{:#}`; this is the same for any `std::error::Error`.

/// `error: cause: cause of cause ...`
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] Middle);

    #[derive(Debug, thiserror::Error)]
    #[error("middle")]
    struct Middle(#[source] std::io::Error);

    #[test]
    fn every_cause_is_shown_in_order() {
        let error = Outer(Middle(std::io::Error::other("root cause")));
        assert_eq!(error_chain(&error), "outer: middle: root cause");
        assert_eq!(error_chain(&std::io::Error::other("alone")), "alone");
    }
}
