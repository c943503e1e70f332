//! Budgets: a daily and a monthly cost budget (in the reporting time zone) with warning
//! levels, and a limit on any one user's cost over the last 24 hours. The settings, how
//! they are read from a form or a setting, and the spend against them that the figures
//! report (`budgets` in [`crate::dashboard::DashboardStats`]).

use super::money::Money;
use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Warning levels, in percent of a budget, unless set otherwise.
pub const DEFAULT_LEVELS: [u32; 2] = [80, 100];
/// The largest budget or limit taken: beyond it an amount is a typo, not a budget.
pub const MAX_DOLLARS: i64 = 1_000_000_000;
/// The highest warning level taken, in percent.
pub const MAX_LEVEL: u32 = 1_000;
/// How many warning levels a budget may have.
pub const MAX_LEVELS: usize = 10;
/// How many users over their limit the Alerts page lists (the highest cost first).
pub const USERS_LISTED: usize = 100;

/// The budgets in force. `None` is off.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetSettings {
    /// Cost of today, the local day.
    pub daily: Option<Money>,
    /// Cost of this month, the local month.
    pub monthly: Option<Money>,
    /// Any one user's cost over the last 24 hours: passing it puts the user over the limit.
    pub per_user: Option<Money>,
    /// Percent of the daily and monthly budgets at which an alert goes out, ascending.
    pub levels: Vec<u32>,
}

impl Default for BudgetSettings {
    fn default() -> BudgetSettings {
        BudgetSettings {
            daily: None,
            monthly: None,
            per_user: None,
            levels: DEFAULT_LEVELS.to_vec(),
        }
    }
}

/// The Budgets form as typed: amounts in dollars (empty: off), levels like `80, 100`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetForm {
    pub daily: String,
    pub monthly: String,
    pub per_user: String,
    pub levels: String,
}

impl BudgetSettings {
    /// The form that shows these settings.
    pub fn form(&self) -> BudgetForm {
        let amount = |money: Option<Money>| money.map(plain_dollars).unwrap_or_default();
        BudgetForm {
            daily: amount(self.daily),
            monthly: amount(self.monthly),
            per_user: amount(self.per_user),
            levels: levels_text(&self.levels),
        }
    }

    /// One line for the change log: `daily $5.00, monthly off, per user off, levels 80, 100`.
    pub fn describe(&self) -> String {
        let amount = |money: Option<Money>| match money {
            Some(money) => money.display_dollars(),
            None => "off".to_owned(),
        };
        format!(
            "daily {}, monthly {}, per user {}, levels {}",
            amount(self.daily),
            amount(self.monthly),
            amount(self.per_user),
            levels_text(&self.levels)
        )
    }

    /// The levels of `budget` that `spent` has reached, ascending.
    pub fn reached(&self, spent: Money, budget: Money) -> Vec<u32> {
        self.levels
            .iter()
            .copied()
            .filter(|&level| reached(spent, budget, level))
            .collect()
    }
}

/// Whether `spent` is at least `level` percent of `budget`, exactly.
pub fn reached(spent: Money, budget: Money, level: u32) -> bool {
    i128::from(spent.micros()) * 100 >= i128::from(budget.micros()) * i128::from(level)
}

/// `80, 100`.
pub fn levels_text(levels: &[u32]) -> String {
    levels
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// `4.1` for $4.10, `0.000001` for a micro-dollar: the amount as it would be typed.
fn plain_dollars(money: Money) -> String {
    let micros = money.micros();
    let whole = micros / 1_000_000;
    let fraction = micros % 1_000_000;
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:06}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

#[cfg(feature = "event-parsing")]
impl BudgetForm {
    /// The settings the form gives, or what is wrong with it, in the admin's words.
    pub fn parse(&self) -> Result<BudgetSettings, String> {
        Ok(BudgetSettings {
            daily: parse_amount(&self.daily, "The daily budget")?,
            monthly: parse_amount(&self.monthly, "The monthly budget")?,
            per_user: parse_amount(&self.per_user, "The per-user limit")?,
            levels: parse_levels(&self.levels)?,
        })
    }
}

/// An amount of dollars (`5`, `4.10`, `$1,000`); empty is off.
#[cfg(feature = "event-parsing")]
pub fn parse_amount(text: &str, what: &str) -> Result<Option<Money>, String> {
    use super::money::MoneyParseError;
    let cleaned: String = text
        .trim()
        .trim_start_matches('$')
        .chars()
        .filter(|c| *c != ',')
        .collect();
    if cleaned.is_empty() {
        return Ok(None);
    }
    let plain = cleaned
        .chars()
        .all(|c| c.is_ascii_digit() || c == '.' || c == '-');
    let parsed = if plain {
        Money::parse_dollars(&cleaned, MAX_DOLLARS)
    } else {
        Err(MoneyParseError::NotADecimal)
    };
    match parsed {
        Ok(money) if money.micros() > 0 => Ok(Some(money)),
        Ok(_) => Err(format!(
            "{what} must be more than $0 (leave it empty for none)."
        )),
        Err(MoneyParseError::Negative) => Err(format!("{what} cannot be negative.")),
        Err(MoneyParseError::TooLarge(max)) => Err(format!(
            "{what} must be at most {}.",
            Money::from_micros(max * 1_000_000).display_dollars()
        )),
        Err(MoneyParseError::TooPrecise) => Err(format!("{what} has more than 6 decimal places.")),
        Err(MoneyParseError::NotADecimal) => Err(format!(
            "{what} must be an amount of dollars such as 5 or 4.10, not {:?}.",
            text.trim()
        )),
    }
}

/// Warning levels in percent, separated by commas or spaces (`80, 100`, `50% 90%`):
/// whole numbers from 1 to [`MAX_LEVEL`], at least one, at most [`MAX_LEVELS`].
#[cfg(feature = "event-parsing")]
pub fn parse_levels(text: &str) -> Result<Vec<u32>, String> {
    let mut levels = Vec::new();
    for word in text
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|word| !word.is_empty())
    {
        let number = word.strip_suffix('%').unwrap_or(word);
        match number.parse::<u32>() {
            Ok(level) if (1..=MAX_LEVEL).contains(&level) => levels.push(level),
            _ => {
                return Err(format!(
                    "Warning levels must be whole percentages from 1 to {MAX_LEVEL}, such as 80, 100; not {word:?}."
                ))
            }
        }
    }
    levels.sort_unstable();
    levels.dedup();
    match levels.len() {
        0 => Err("Give at least one warning level, such as 80, 100.".to_owned()),
        n if n > MAX_LEVELS => Err(format!("Give at most {MAX_LEVELS} warning levels.")),
        _ => Ok(levels),
    }
}

/// Spend against one budget.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetUse {
    pub spent: Money,
    pub budget: Money,
    /// `spent / budget` in percent (past 100 when over).
    pub percent: f64,
}

impl BudgetUse {
    pub fn new(spent: Money, budget: Money) -> BudgetUse {
        BudgetUse {
            spent,
            budget,
            percent: spent.micros() as f64 * 100.0 / budget.micros().max(1) as f64,
        }
    }
}

/// The budgets' figures: always today's and this month's cost (whatever range the
/// dashboard shows) and the users over their limit in the last 24 hours.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Budgets {
    /// `null` when there is no daily budget.
    pub daily: Option<BudgetUse>,
    /// `null` when there is no monthly budget.
    pub monthly: Option<BudgetUse>,
    /// The per-user limit, `null` when off.
    pub per_user_limit: Option<Money>,
    /// Users whose cost over the last 24 hours passed the per-user limit (0 when off).
    pub users_over_limit: i64,
    /// The warning levels, ascending.
    pub levels: Vec<u32>,
}

impl Default for Budgets {
    fn default() -> Budgets {
        Budgets {
            daily: None,
            monthly: None,
            per_user_limit: None,
            users_over_limit: 0,
            levels: DEFAULT_LEVELS.to_vec(),
        }
    }
}

impl Budgets {
    /// The highest warning level `used` has reached, if any: the bar's colour.
    pub fn level_reached(&self, used: &BudgetUse) -> Option<u32> {
        self.levels
            .iter()
            .copied()
            .filter(|&level| reached(used.spent, used.budget, level))
            .max()
    }
}

/// One user over the per-user limit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserOverLimit {
    pub user_id: String,
    /// Cost over the last 24 hours.
    pub cost: Money,
}

/// One change of the budgets, as the Alerts page lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetChange {
    /// In the reporting time zone.
    #[serde(deserialize_with = "crate::dates::rfc3339::deserialize")]
    pub at: DateTime<FixedOffset>,
    pub admin: String,
    pub old: String,
    pub new: String,
}

/// What the Alerts page's Budgets panel shows.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetsPage {
    pub settings: BudgetSettings,
    /// No admin has saved budgets: those of `Leptos.toml` apply.
    pub from_config: bool,
    /// Newest first.
    pub changes: Vec<BudgetChange>,
    /// Over the limit in the last 24 hours, highest cost first, at most [`USERS_LISTED`].
    pub users_over_limit: Vec<UserOverLimit>,
    pub time_zone: String,
}

#[cfg(all(test, feature = "event-parsing"))]
mod tests {
    use super::*;

    fn dollars(micros: i64) -> Option<Money> {
        Some(Money::from_micros(micros))
    }

    #[test]
    fn amounts_read_as_typed_and_empty_is_off() {
        assert_eq!(parse_amount("", "x"), Ok(None));
        assert_eq!(parse_amount("   ", "x"), Ok(None));
        assert_eq!(parse_amount("5", "x"), Ok(dollars(5_000_000)));
        assert_eq!(parse_amount(" $4.10 ", "x"), Ok(dollars(4_100_000)));
        assert_eq!(parse_amount("$1,000", "x"), Ok(dollars(1_000_000_000)));
        assert_eq!(parse_amount("0.000001", "x"), Ok(dollars(1)));
    }

    #[test]
    fn bad_amounts_say_what_is_wrong() {
        for (text, says) in [
            ("-5", "cannot be negative"),
            ("0", "more than $0"),
            ("0.00", "more than $0"),
            ("abc", "amount of dollars"),
            ("5 dollars", "amount of dollars"),
            ("1e3", "amount of dollars"),
            ("NaN", "amount of dollars"),
            ("inf", "amount of dollars"),
            ("1000000001", "at most $1,000,000,000.00"),
            ("99999999999999999999999999", "at most"),
            ("0.0000001", "6 decimal places"),
        ] {
            let error = parse_amount(text, "The daily budget").unwrap_err();
            assert!(error.starts_with("The daily budget"), "{text}: {error}");
            assert!(error.contains(says), "{text}: {error}");
        }
    }

    #[test]
    fn levels_read_sorted_without_repeats() {
        assert_eq!(parse_levels("80, 100"), Ok(vec![80, 100]));
        assert_eq!(parse_levels("100,80 ,80"), Ok(vec![80, 100]));
        assert_eq!(parse_levels("50% 90%  120"), Ok(vec![50, 90, 120]));
        for bad in [
            "",
            " , ",
            "0",
            "-5",
            "80.5",
            "eighty",
            "1001",
            "1,2,3,4,5,6,7,8,9,10,11",
        ] {
            assert!(parse_levels(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_form_round_trips_through_the_settings() {
        let settings = BudgetSettings {
            daily: dollars(5_000_000),
            monthly: dollars(123_450_000),
            per_user: dollars(1),
            levels: vec![50, 80, 100],
        };
        let form = settings.form();
        assert_eq!(form.daily, "5");
        assert_eq!(form.monthly, "123.45");
        assert_eq!(form.per_user, "0.000001");
        assert_eq!(form.levels, "50, 80, 100");
        assert_eq!(form.parse(), Ok(settings));
        assert_eq!(
            BudgetForm {
                levels: "80, 100".into(),
                ..BudgetForm::default()
            }
            .parse(),
            Ok(BudgetSettings::default())
        );
    }

    #[test]
    fn levels_are_reached_exactly() {
        let settings = BudgetSettings::default();
        let budget = Money::from_micros(5_000_000);
        assert_eq!(
            settings.reached(Money::from_micros(3_999_999), budget),
            Vec::<u32>::new()
        );
        assert_eq!(
            settings.reached(Money::from_micros(4_000_000), budget),
            vec![80]
        );
        assert_eq!(
            settings.reached(Money::from_micros(4_999_999), budget),
            vec![80]
        );
        assert_eq!(
            settings.reached(Money::from_micros(5_000_000), budget),
            vec![80, 100]
        );
        assert_eq!(
            BudgetUse::new(Money::from_micros(4_100_000), budget).percent,
            82.0
        );
    }
}
