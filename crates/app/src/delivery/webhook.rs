//! A webhook URL from the configuration: https (http only to this machine), and a secret
//! (Slack's carry their token in the path), so only its scheme and host are ever shown.

use reqwest::Url;

#[derive(Clone, PartialEq, Eq)]
pub struct Webhook {
    url: Url,
}

impl Webhook {
    /// The URL if it may be used; else why not, naming it only by its scheme and host.
    pub fn parse(text: &str) -> Result<Webhook, String> {
        let url =
            Url::parse(text.trim()).map_err(|error| format!("an entry is not a URL ({error})"))?;
        let webhook = Webhook { url };
        // The URL parser writes hosts in one form: lower case, `127.1` as `127.0.0.1`.
        let loopback = match webhook.url.host_str() {
            Some(host) => matches!(host, "localhost" | "127.0.0.1" | "[::1]"),
            None => return Err(format!("{} has no host", webhook.redacted())),
        };
        match webhook.url.scheme() {
            "https" => Ok(webhook),
            "http" if loopback => Ok(webhook),
            _ => Err(format!(
                "{} must start with https:// (http:// only for 127.0.0.1, localhost or [::1])",
                webhook.redacted()
            )),
        }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    /// `https://hooks.slack.com/…`: enough to tell webhooks apart in the log, nothing of
    /// the secret part.
    pub fn redacted(&self) -> String {
        let host = match (self.url.host_str(), self.url.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        format!("{}://{host}/…", self.url.scheme())
    }
}

/// Never the whole URL, not even in a debug print of the settings.
impl std::fmt::Debug for Webhook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Webhook({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_anywhere_and_http_only_to_this_machine() {
        let slack = "https://hooks.slack.com/services/T000/B000/XXXXSECRET";
        let hook = Webhook::parse(slack).unwrap();
        assert_eq!(hook.url().as_str(), slack);
        assert_eq!(hook.redacted(), "https://hooks.slack.com/…");
        assert!(!format!("{hook:?}").contains("SECRET"));
        for local in [
            "http://127.0.0.1:8080/hook",
            "http://localhost/hook",
            "http://[::1]:9/x",
        ] {
            assert!(Webhook::parse(local).is_ok(), "{local}");
        }
        assert_eq!(
            Webhook::parse("http://127.0.0.1:8080/hook")
                .unwrap()
                .redacted(),
            "http://127.0.0.1:8080/…"
        );
        for refused in [
            "http://hooks.example.com/services/SECRET",
            "http://10.0.0.1/SECRET",
            "ftp://example.com/SECRET",
            "file:///etc/SECRET",
            "not a url SECRET",
        ] {
            let error = Webhook::parse(refused).unwrap_err();
            assert!(!error.contains("SECRET"), "{error}");
        }
        assert_eq!(
            Webhook::parse("http://hooks.example.com/services/SECRET").unwrap_err(),
            "http://hooks.example.com/… must start with https:// (http:// only for 127.0.0.1, localhost or [::1])"
        );
    }
}
