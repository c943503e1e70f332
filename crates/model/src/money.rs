//! Exact amounts of money: integer millionths of a dollar, as stored.

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::iter::Sum;
use std::ops::Add;

const MICROS_PER_DOLLAR: i64 = 1_000_000;

/// US dollars in millionths (docs/metrics.md allows up to 6 decimal places), so that sums are exact.
///
/// In JSON it is a number whose text is the exact decimal (`0.3`, `1234.000001`): the
/// nearest double to a decimal of at most 15 digits prints back as that decimal.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_micros(micros: i64) -> Money {
        Money(micros)
    }

    pub const fn micros(self) -> i64 {
        self.0
    }

    /// For display: dollars rounded half away from zero to the cent, with thousands
    /// separators: `$1,234.57`.
    pub fn display_dollars(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let micros = self.0.unsigned_abs();
        let cents = (micros + 5_000) / 10_000;
        format!("{sign}${}.{:02}", group_thousands(cents / 100), cents % 100)
    }

    fn as_f64(self) -> f64 {
        self.0 as f64 / MICROS_PER_DOLLAR as f64
    }

    /// Parses a non-negative decimal amount of dollars (`"0.035"`, `"12"`, `"1e-3"`), exactly.
    #[cfg(feature = "event-parsing")]
    pub fn parse_dollars(text: &str, max_dollars: i64) -> Result<Money, MoneyParseError> {
        use rust_decimal::prelude::ToPrimitive;
        use rust_decimal::Decimal;
        let text = text.trim();
        let value = Decimal::from_str_exact(text)
            .or_else(|_| Decimal::from_scientific(text))
            .map_err(|_| MoneyParseError::NotADecimal)?
            .normalize();
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyParseError::Negative);
        }
        if value.scale() > 6 {
            return Err(MoneyParseError::TooPrecise);
        }
        if value > Decimal::from(max_dollars) {
            return Err(MoneyParseError::TooLarge(max_dollars));
        }
        let micros = (value * Decimal::from(MICROS_PER_DOLLAR)).to_i64();
        micros
            .map(Money)
            .ok_or(MoneyParseError::TooLarge(max_dollars))
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MoneyParseError {
    NotADecimal,
    Negative,
    TooPrecise,
    TooLarge(i64),
}

impl fmt::Display for MoneyParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MoneyParseError::NotADecimal => f.write_str("is not a decimal number"),
            MoneyParseError::Negative => f.write_str("must not be negative"),
            MoneyParseError::TooPrecise => f.write_str("has more than 6 decimal places"),
            MoneyParseError::TooLarge(max) => write!(f, "is larger than {max} dollars"),
        }
    }
}

/// `1234567` → `1,234,567`.
pub fn group_thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

impl Add for Money {
    type Output = Money;
    fn add(self, other: Money) -> Money {
        Money(self.0 + other.0)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl Serialize for Money {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_f64(self.as_f64())
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Money, D::Error> {
        let dollars = f64::deserialize(deserializer)?;
        let micros = (dollars * MICROS_PER_DOLLAR as f64).round();
        if !micros.is_finite() || micros.abs() >= 2f64.powi(53) {
            return Err(de::Error::custom("amount of money out of range"));
        }
        Ok(Money(micros as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_dollars_rounded_to_cents() {
        assert_eq!(Money::ZERO.display_dollars(), "$0.00");
        assert_eq!(Money::from_micros(4_500_000).display_dollars(), "$4.50");
        assert_eq!(Money::from_micros(4_994_999).display_dollars(), "$4.99");
        assert_eq!(Money::from_micros(4_995_000).display_dollars(), "$5.00");
        assert_eq!(
            Money::from_micros(1_234_567_890_000).display_dollars(),
            "$1,234,567.89"
        );
    }

    #[test]
    fn json_text_is_the_exact_decimal_and_reads_back() {
        for (micros, text) in [
            (300_000, "0.3"),
            (1, "1e-6"),
            (1_234_000_001, "1234.000001"),
            (0, "0.0"),
        ] {
            let json = serde_json::to_string(&Money::from_micros(micros)).unwrap();
            assert_eq!(json, text);
            assert_eq!(
                serde_json::from_str::<Money>(&json).unwrap(),
                Money::from_micros(micros)
            );
        }
    }

    #[test]
    fn sums_that_floats_get_wrong_stay_exact() {
        let total: Money = std::iter::repeat_n(Money::from_micros(100_000), 3).sum();
        assert_eq!(total, Money::from_micros(300_000));
        assert_ne!(0.1f64 + 0.1 + 0.1, 0.3);
    }

    #[cfg(feature = "event-parsing")]
    #[test]
    fn parses_dollars_exactly() {
        let parse = |t| Money::parse_dollars(t, 1_000_000);
        assert_eq!(parse("0.035"), Ok(Money::from_micros(35_000)));
        assert_eq!(parse("12"), Ok(Money::from_micros(12_000_000)));
        assert_eq!(parse("0.000001"), Ok(Money::from_micros(1)));
        assert_eq!(parse("1e-3"), Ok(Money::from_micros(1_000)));
        assert_eq!(parse("0.1000000"), Ok(Money::from_micros(100_000)));
        assert_eq!(parse("-0"), Ok(Money::ZERO));
        assert_eq!(parse("-0.01"), Err(MoneyParseError::Negative));
        assert_eq!(parse("0.0000001"), Err(MoneyParseError::TooPrecise));
        assert_eq!(parse("abc"), Err(MoneyParseError::NotADecimal));
        assert_eq!(parse("1000001"), Err(MoneyParseError::TooLarge(1_000_000)));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group_thousands(0), "0");
        assert_eq!(group_thousands(999), "999");
        assert_eq!(group_thousands(1000), "1,000");
        assert_eq!(group_thousands(12_345_678), "12,345,678");
    }
}
