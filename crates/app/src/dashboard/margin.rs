//! Revenue and margin by tier and by provider, this month or over the chosen range; until
//! every tier's credit value is set, how to set them.

use crate::log::ExportLink;
use leptos::either::EitherOf3;
use leptos::prelude::*;
use model::dashboard::{group_thousands, Money};
use model::dashboard::{DashboardStats, Tier};
use model::format::{count, dollars, month_label, percent, window_name};
use model::margin::{credit_value_setting, Margin, MarginFigures};

#[component]
pub fn RevenueMarginPanel(stats: Signal<DashboardStats>, export: String) -> impl IntoView {
    view! {
        <section class="panel" aria-labelledby="margin-heading" data-testid="margin">
            <div class="panel-head">
                <h2 id="margin-heading">"Revenue & Margin "
                    <span class="muted">{move || stats.with(|s| format!("({})", window_name(s, &month_label(s.generated_at))))}</span></h2>
                <ExportLink href=export table="margin"/>
            </div>
            {move || stats.with(|s| match (&s.margin, s.credit_values_unset.is_empty()) {
                (Some(margin), _) => EitherOf3::A(view! { <MarginTables margin=margin.clone()/> }),
                (None, false) => EitherOf3::B(view! { <HowToSet unset=s.credit_values_unset.clone()/> }),
                (None, true) => EitherOf3::C(view! {
                    <p class="notice notice-warning" data-testid="margin-out-of-range">
                        "Revenue would pass the largest sum kept ($9,223,372,036,854.78), so it is not shown; lower the credit values or choose a shorter range."
                    </p>
                }),
            })}
        </section>
    }
}

/// What to set, and where, for each tier without a credit value.
#[component]
fn HowToSet(unset: Vec<Tier>) -> impl IntoView {
    view! {
        <div class="notice notice-warning" data-testid="margin-unset">
            <p>
                "Revenue and margin need what one credit earns in every tier. "
                "Set these in the " <code>"[app]"</code> " section of " <code>"Leptos.toml"</code>
                ", or as environment variables, in dollars per credit (for example "
                <code>"0.01"</code> ", or " <code>"0"</code> " for a free tier), and restart the server:"
            </p>
            <ul>
                {unset.into_iter().map(|tier| {
                    let setting = credit_value_setting(tier);
                    view! {
                        <li data-tier=tier.as_str()>
                            {tier.label()} ": " <code>{setting.key}</code> " or " <code class="break">{setting.env}</code>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </div>
    }
}

#[component]
fn MarginTables(margin: Margin) -> impl IntoView {
    let tiers: Vec<(String, String, MarginFigures)> = margin
        .by_tier
        .into_iter()
        .map(|t| {
            let note = format!("{} per credit", dollars_exact(t.credit_value));
            (t.tier.label().to_owned(), note, t.figures)
        })
        .collect();
    let providers: Vec<(String, String, MarginFigures)> = margin
        .by_provider
        .into_iter()
        .map(|p| (p.provider, String::new(), p.figures))
        .collect();
    view! {
        <MarginTable caption="By tier" first="Tier" testid="margin-by-tier" lines=tiers total=margin.total.clone()/>
        <MarginTable caption="By provider" first="Provider" testid="margin-by-provider" lines=providers total=margin.total/>
    }
}

/// One table of lines and their total; on a narrow screen each row is a card of its cells,
/// each with its column's name (`data-label`), so that no figure is out of sight.
#[component]
fn MarginTable(
    caption: &'static str,
    first: &'static str,
    testid: &'static str,
    lines: Vec<(String, String, MarginFigures)>,
    total: MarginFigures,
) -> impl IntoView {
    let empty = lines.is_empty();
    view! {
        <table class="stacking" data-testid=testid>
            <caption>{caption}</caption>
            <thead>
                <tr>
                    <th scope="col">{first}</th>
                    <th scope="col" class="num">"Credits"</th>
                    <th scope="col" class="num">"Revenue"</th>
                    <th scope="col" class="num">"Cost"</th>
                    <th scope="col" class="num">"Margin"</th>
                    <th scope="col" class="num">"Margin %"</th>
                </tr>
            </thead>
            <tbody>
                {empty.then(|| view! { <tr><td colspan="6" class="empty">"No generations in this period"</td></tr> })}
                {lines.into_iter().map(|(name, note, figures)| {
                    let note = (!note.is_empty()).then(|| view! { " " <span class="muted nowrap">{note}</span> });
                    let line = name.clone();
                    view! {
                        <tr data-line=line>
                            <th scope="row">{name}{note}</th>
                            <MarginCells figures/>
                        </tr>
                    }
                }).collect_view()}
            </tbody>
            <tfoot>
                <tr data-line="total">
                    <th scope="row">"Total"</th>
                    <MarginCells figures=total/>
                </tr>
            </tfoot>
        </table>
    }
}

#[component]
fn MarginCells(figures: MarginFigures) -> impl IntoView {
    // The margin is the panel's key figure: first on a narrow screen.
    let margin_class = if figures.margin.micros() < 0 {
        "num strong key failed"
    } else {
        "num strong key"
    };
    view! {
        <td class="num" data-label="Credits">{count(figures.credits_consumed)}</td>
        <td class="num" data-label="Revenue" data-testid="revenue">{dollars(figures.revenue)}</td>
        <td class="num" data-label="Cost">{dollars(figures.cost)}</td>
        <td class=margin_class data-label="Margin" data-testid="margin-amount">{dollars(figures.margin)}</td>
        <td class="num" data-label="Margin %">{percent(figures.margin_percent)}</td>
    }
}

/// A credit's value as set, to the micro-dollar where it has them: `$0.008`, `$0.01`.
fn dollars_exact(money: Money) -> String {
    let micros = money.micros();
    if micros % 10_000 == 0 {
        return dollars(money);
    }
    let fraction = format!("{:06}", micros % 1_000_000);
    format!(
        "${}.{}",
        group_thousands((micros / 1_000_000) as u64),
        fraction.trim_end_matches('0')
    )
}
