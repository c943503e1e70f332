//! Revenue and margin (docs/metrics.md, "Revenue and margin"): credits consumed times what
//! a credit of the user's tier earns, less the providers' cost, by tier and by provider.

use super::money::Money;
use super::tier::Tier;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Where the value of a tier's credit is set: its key in `[app]` and its variable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CreditValueSetting {
    pub key: &'static str,
    pub env: &'static str,
}

/// The setting of what one credit of `tier` earns, in dollars.
pub const fn credit_value_setting(tier: Tier) -> CreditValueSetting {
    match tier {
        Tier::Free => CreditValueSetting {
            key: "credit-value-usd-free",
            env: "USAGE_MONITOR_CREDIT_VALUE_USD_FREE",
        },
        Tier::Plus => CreditValueSetting {
            key: "credit-value-usd-plus",
            env: "USAGE_MONITOR_CREDIT_VALUE_USD_PLUS",
        },
        Tier::Pro => CreditValueSetting {
            key: "credit-value-usd-pro",
            env: "USAGE_MONITOR_CREDIT_VALUE_USD_PRO",
        },
    }
}

/// The most one credit may be worth: with a credit's value at most this and the credits
/// charged at most `i64::MAX`, revenue is within `i128` whatever the data.
pub const MAX_CREDIT_VALUE_DOLLARS: i64 = 1_000;

/// What one credit earns in each tier, exact to the micro-dollar; `None` where not set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CreditValues {
    pub free: Option<Money>,
    pub plus: Option<Money>,
    pub pro: Option<Money>,
}

impl CreditValues {
    pub fn get(&self, tier: Tier) -> Option<Money> {
        match tier {
            Tier::Free => self.free,
            Tier::Plus => self.plus,
            Tier::Pro => self.pro,
        }
    }

    /// The tiers whose value is not set, in [`Tier::ALL`]'s order.
    pub fn unset(&self) -> Vec<Tier> {
        Tier::ALL
            .into_iter()
            .filter(|&tier| self.get(tier).is_none())
            .collect()
    }
}

/// Revenue and margin over this month or the chosen range.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Margin {
    /// Every tier, by the user's tier now: pro, plus, free.
    pub by_tier: Vec<TierMargin>,
    /// Every provider with generations in the period, most revenue first, then by name.
    pub by_provider: Vec<ProviderMargin>,
    pub total: MarginFigures,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TierMargin {
    pub tier: Tier,
    /// What one credit of the tier earns.
    pub credit_value: Money,
    #[serde(flatten)]
    pub figures: MarginFigures,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProviderMargin {
    pub provider: String,
    #[serde(flatten)]
    pub figures: MarginFigures,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MarginFigures {
    /// Credits charged minus refunded.
    pub credits_consumed: i64,
    /// Credits consumed times their tier's credit value.
    pub revenue: Money,
    /// The providers' cost.
    pub cost: Money,
    /// `revenue − cost`.
    pub margin: Money,
    /// `margin / revenue × 100`; `null` when revenue is 0.
    pub margin_percent: Option<f64>,
}

/// Credits consumed and cost of one provider's generations by users of one tier.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Consumption {
    pub credits: i64,
    pub cost: Money,
}

/// Sums in `i128`, turned into money at the end.
#[derive(Clone, Copy, Debug, Default)]
struct Sums {
    credits: i128,
    revenue: i128,
    cost: i128,
}

impl Sums {
    fn add(&mut self, consumption: Consumption, value: Money) {
        let credits = i128::from(consumption.credits);
        self.credits += credits;
        self.revenue += credits * i128::from(value.micros());
        self.cost += i128::from(consumption.cost.micros());
    }

    /// `None` when a sum is past what `i64` holds.
    fn figures(self) -> Option<MarginFigures> {
        let revenue = i64::try_from(self.revenue).ok()?;
        let cost = i64::try_from(self.cost).ok()?;
        let margin = revenue.checked_sub(cost)?;
        Some(MarginFigures {
            credits_consumed: i64::try_from(self.credits).ok()?,
            revenue: Money::from_micros(revenue),
            cost: Money::from_micros(cost),
            margin: Money::from_micros(margin),
            margin_percent: (revenue != 0).then(|| margin as f64 * 100.0 / revenue as f64),
        })
    }
}

impl Margin {
    /// The margin of `consumption` per provider and tier, at the credit `values`; `None`
    /// when a value is unset or a sum would pass the largest sum kept.
    pub fn of(
        consumption: &BTreeMap<(String, Tier), Consumption>,
        values: &CreditValues,
    ) -> Option<Margin> {
        let mut tiers: BTreeMap<Tier, Sums> = BTreeMap::new();
        let mut providers: BTreeMap<&str, Sums> = BTreeMap::new();
        let mut total = Sums::default();
        for ((provider, tier), &used) in consumption {
            let value = values.get(*tier)?;
            tiers.entry(*tier).or_default().add(used, value);
            providers
                .entry(provider.as_str())
                .or_default()
                .add(used, value);
            total.add(used, value);
        }
        let mut by_tier = Vec::new();
        for tier in [Tier::Pro, Tier::Plus, Tier::Free] {
            by_tier.push(TierMargin {
                tier,
                credit_value: values.get(tier)?,
                figures: tiers.get(&tier).copied().unwrap_or_default().figures()?,
            });
        }
        let mut by_provider = Vec::new();
        for (provider, sums) in providers {
            by_provider.push(ProviderMargin {
                provider: provider.to_owned(),
                figures: sums.figures()?,
            });
        }
        by_provider.sort_by(|a, b| {
            b.figures
                .revenue
                .cmp(&a.figures.revenue)
                .then_with(|| a.provider.cmp(&b.provider))
        });
        Some(Margin {
            by_tier,
            by_provider,
            total: total.figures()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> CreditValues {
        CreditValues {
            free: Some(Money::ZERO),
            plus: Some(Money::from_micros(10_000)),
            pro: Some(Money::from_micros(8_000)),
        }
    }

    fn used(credits: i64, cost_micros: i64) -> Consumption {
        Consumption {
            credits,
            cost: Money::from_micros(cost_micros),
        }
    }

    #[test]
    fn revenue_is_credits_times_the_tiers_value_and_margin_what_is_left() {
        let consumption = BTreeMap::from([
            (("NanoBanana".to_owned(), Tier::Plus), used(100, 400_000)),
            (("NanoBanana".to_owned(), Tier::Free), used(30, 90_000)),
            (("Seedream".to_owned(), Tier::Pro), used(250, 2_500_000)),
        ]);
        let margin = Margin::of(&consumption, &values()).unwrap();
        let tiers: Vec<_> = margin
            .by_tier
            .iter()
            .map(|t| {
                (
                    t.tier,
                    t.figures.revenue.micros(),
                    t.figures.margin.micros(),
                )
            })
            .collect();
        assert_eq!(
            tiers,
            [
                (Tier::Pro, 2_000_000, -500_000),
                (Tier::Plus, 1_000_000, 600_000),
                (Tier::Free, 0, -90_000)
            ]
        );
        assert_eq!(margin.by_tier[0].figures.margin_percent, Some(-25.0));
        assert_eq!(margin.by_tier[1].figures.margin_percent, Some(60.0));
        assert_eq!(margin.by_tier[2].figures.margin_percent, None, "no revenue");
        let providers: Vec<_> = margin
            .by_provider
            .iter()
            .map(|p| (p.provider.as_str(), p.figures.revenue.micros()))
            .collect();
        assert_eq!(
            providers,
            [("Seedream", 2_000_000), ("NanoBanana", 1_000_000)]
        );
        assert_eq!(margin.by_provider[1].figures.cost.micros(), 490_000);
        assert_eq!(margin.total.revenue.micros(), 3_000_000);
        assert_eq!(margin.total.cost.micros(), 2_990_000);
        assert_eq!(margin.total.margin.micros(), 10_000);
        assert_eq!(margin.total.credits_consumed, 380);
    }

    #[test]
    fn nothing_consumed_is_every_tier_at_zero_and_an_unset_value_is_no_margin() {
        let margin = Margin::of(&BTreeMap::new(), &values()).unwrap();
        assert_eq!(margin.by_tier.len(), 3);
        assert!(margin.by_provider.is_empty());
        assert_eq!(margin.total, MarginFigures::default());
        let partly = CreditValues {
            plus: None,
            ..values()
        };
        assert_eq!(Margin::of(&BTreeMap::new(), &partly), None);
        assert_eq!(partly.unset(), [Tier::Plus]);
        assert_eq!(CreditValues::default().unset(), Tier::ALL);
    }

    #[test]
    fn sums_past_the_largest_kept_are_no_margin_rather_than_wrong() {
        let costly = CreditValues {
            plus: Some(Money::from_micros(MAX_CREDIT_VALUE_DOLLARS * 1_000_000)),
            ..values()
        };
        let consumption =
            BTreeMap::from([(("NanoBanana".to_owned(), Tier::Plus), used(i64::MAX, 0))]);
        assert_eq!(Margin::of(&consumption, &costly), None);
    }

    #[test]
    fn json_names_and_round_trip() {
        let consumption =
            BTreeMap::from([(("NanoBanana".to_owned(), Tier::Plus), used(3, 10_000))]);
        let margin = Margin::of(&consumption, &values()).unwrap();
        let json = serde_json::to_value(&margin).unwrap();
        for path in [
            "/byTier/0/tier",
            "/byTier/0/creditValue",
            "/byTier/1/revenue",
            "/byTier/1/marginPercent",
            "/byProvider/0/provider",
            "/byProvider/0/cost",
            "/byProvider/0/margin",
            "/total/creditsConsumed",
        ] {
            assert!(json.pointer(path).is_some(), "missing {path} in {json}");
        }
        assert_eq!(json["byTier"][1]["revenue"], serde_json::json!(0.03));
        let back: Margin = serde_json::from_value(json).unwrap();
        assert_eq!(back, margin);
    }
}
