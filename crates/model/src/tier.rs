//! The users' tiers, by which credits and the margin are shown.

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Tier {
    Free,
    Plus,
    Pro,
}

impl Tier {
    pub const ALL: [Tier; 3] = [Tier::Free, Tier::Plus, Tier::Pro];

    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Free => "free",
            Tier::Plus => "plus",
            Tier::Pro => "pro",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Tier::Free => "Free",
            Tier::Plus => "Plus",
            Tier::Pro => "Pro",
        }
    }

    pub fn parse(text: &str) -> Option<Tier> {
        Tier::ALL.into_iter().find(|tier| tier.as_str() == text)
    }
}
