//! Showing configuration without its secrets.
//!
//! Every config struct's `Debug` goes through these, so a `tracing::debug!(?settings)`
//! or a panic message never prints a password, token or key: URLs keep their
//! scheme, host, port and path (what one needs to see which server is meant),
//! never the credentials in them.

/// `raw` with the userinfo's password replaced by `***`; unparseable input is
/// not echoed at all (it might be a secret pasted into the wrong variable).
pub fn url(raw: &str) -> String {
    match url::Url::parse(raw) {
        Ok(mut parsed) => {
            if parsed.password().is_some() {
                let _ = parsed.set_password(Some("***"));
            }
            if parsed.query().is_some() {
                parsed.set_query(Some("***"));
            }
            parsed.to_string()
        }
        Err(_) => "<unparseable url>".to_owned(),
    }
}

/// `"<set>"` or `"<none>"` for an optional secret.
pub fn presence<T>(secret: Option<&T>) -> &'static str {
    if secret.is_some() { "<set>" } else { "<none>" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_and_queries_never_show() {
        let shown = url("amqp://nexus:s3cret-pw@rabbit:5672/%2f?auth=t0ken");
        assert!(!shown.contains("s3cret-pw"), "{shown}");
        assert!(!shown.contains("t0ken"), "{shown}");
        assert!(shown.contains("rabbit:5672"), "{shown}");
        assert_eq!(url("not a url s3cret"), "<unparseable url>");
        assert_eq!(url("http://127.0.0.1:50051"), "http://127.0.0.1:50051/");
        assert_eq!(presence(Some(&"x")), "<set>");
        assert_eq!(presence::<String>(None), "<none>");
    }
}
