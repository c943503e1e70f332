//! The trends chart: generations per day or hour as stacked bars (succeeded, failed,
//! pending) with their cost as a line, drawn as SVG by the server. Once hydrated, a bar
//! hovered or focused shows its figures; before that, and for screen readers, each bar has
//! its own text, and the same figures are a table under the chart.

use chrono::{DateTime, Datelike, FixedOffset};
use leptos::either::Either;
use leptos::prelude::*;
use model::dashboard::{Money, Trend, TrendCounts, TrendStep};
use model::dates::{hour_minute, short_month_name, short_weekday_name, utc_offset};
use model::format::{count, dollars};

/// The drawing's size in SVG units; it scales to the page's width.
const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 240.0;
const LEFT: f64 = 48.0;
const RIGHT: f64 = 64.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 28.0;
const PLOT_WIDTH: f64 = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT: f64 = HEIGHT - TOP - BOTTOM;
/// About this many bars are labelled on the time axis, whatever their number.
const TIME_LABELS: usize = 8;

/// A round axis: its tick step and top, 1, 2 or 5 times a power of ten, at least `min_step`,
/// with at most five steps up to a top of at least `max`.
pub fn axis(max: i64, min_step: i64) -> (i64, i64) {
    let mut step = min_step.max(1);
    'search: loop {
        for factor in [1, 2, 5] {
            let candidate = step.saturating_mul(factor);
            if candidate.saturating_mul(5) >= max {
                step = candidate;
                break 'search;
            }
        }
        step = step.saturating_mul(10);
    }
    let steps = ((max + step - 1) / step).max(1);
    (step, step * steps)
}

/// One bar as drawn: its place, and its three parts from the bottom up.
#[derive(Clone, Debug, PartialEq)]
pub struct BarShape {
    pub x: f64,
    pub width: f64,
    /// `(y, height)` of the succeeded, failed and pending parts.
    pub parts: [(f64, f64); 3],
    /// Where the cost line passes over the bar.
    pub cost_y: f64,
}

/// The chart in SVG units: computed from the figures alone, the same on server and browser.
#[derive(Clone, Debug, PartialEq)]
pub struct Layout {
    pub bars: Vec<BarShape>,
    /// `(y, label)` of the generations axis, on the left.
    pub count_ticks: Vec<(f64, String)>,
    /// `(y, label)` of the cost axis, on the right.
    pub cost_ticks: Vec<(f64, String)>,
}

impl Layout {
    pub fn of(counts: &[TrendCounts]) -> Layout {
        let most = counts
            .iter()
            .map(TrendCounts::generations)
            .max()
            .unwrap_or(0);
        let costliest = counts.iter().map(|c| c.cost.micros()).max().unwrap_or(0);
        let (count_step, count_top) = axis(most, 1);
        // Cost ticks are whole cents at least.
        let (cost_step, cost_top) = axis(costliest, 10_000);
        let y_of = |value: i64, top: i64| TOP + PLOT_HEIGHT * (1.0 - value as f64 / top as f64);
        let slot = PLOT_WIDTH / counts.len().max(1) as f64;
        let bars = counts
            .iter()
            .enumerate()
            .map(|(index, c)| {
                let mut base = 0;
                let parts = [c.succeeded, c.failed, c.pending].map(|n| {
                    let (low, high) = (y_of(base, count_top), y_of(base + n, count_top));
                    base += n;
                    (high, low - high)
                });
                BarShape {
                    x: LEFT + slot * index as f64 + slot * 0.15,
                    width: slot * 0.7,
                    parts,
                    cost_y: y_of(c.cost.micros(), cost_top),
                }
            })
            .collect();
        let ticks = |step: i64, top: i64, label: &dyn Fn(i64) -> String| {
            (0..=top / step)
                .map(|i| (y_of(i * step, top), label(i * step)))
                .collect()
        };
        Layout {
            bars,
            count_ticks: ticks(count_step, count_top, &count),
            cost_ticks: ticks(cost_step, cost_top, &|micros| {
                dollars(Money::from_micros(micros))
            }),
        }
    }

    /// The cost line through the middle of every bar.
    pub fn cost_line(&self) -> String {
        let points: Vec<String> = (self.bars.iter())
            .map(|b| format!("{:.1},{:.1}", b.x + b.width / 2.0, b.cost_y))
            .collect();
        points.join(" ")
    }
}

/// A bar's period as its axis label: `Nov 3`, or `14:00`.
pub fn bar_label(step: TrendStep, start: DateTime<FixedOffset>) -> String {
    match step {
        TrendStep::Day => format!("{} {}", short_month_name(&start), start.day()),
        TrendStep::Hour => hour_minute(&start),
    }
}

/// A bar's period in full: `Tue 3 Nov 2026`, or `3 Nov 01:00–02:00 (UTC−04:00)`, the offset
/// telling apart the two passes of an hour repeated when clocks go back.
pub fn bar_period(
    step: TrendStep,
    start: DateTime<FixedOffset>,
    end: DateTime<FixedOffset>,
) -> String {
    match step {
        TrendStep::Day => format!(
            "{} {} {} {}",
            short_weekday_name(start.weekday()),
            start.day(),
            short_month_name(&start),
            start.year()
        ),
        TrendStep::Hour => format!(
            "{} {} {}–{} (UTC{})",
            start.day(),
            short_month_name(&start),
            hour_minute(&start),
            hour_minute(&end),
            utc_offset(*start.offset())
        ),
    }
}

/// What an empty chart says: an unknown or idle provider is named, so that a mistyped
/// `provider=` explains itself.
pub fn empty_text(provider: Option<&str>) -> String {
    match provider {
        Some(name) => format!("No generations by “{name}” in this period"),
        None => "No generations in this period".to_owned(),
    }
}

/// A bar's figures in a sentence, for its text alternative.
pub fn bar_summary(period: &str, c: &TrendCounts) -> String {
    format!(
        "{period}: {} generations, {} succeeded, {} failed, {} pending, cost {}",
        count(c.generations()),
        count(c.succeeded),
        count(c.failed),
        count(c.pending),
        dollars(c.cost)
    )
}

/// The chart of `trend` for `provider` (all providers when `None`).
// Mostly view markup: the bars, the cost line, the axis and the tooltip.
#[allow(clippy::too_many_lines)]
#[component]
pub fn TrendChart(trend: Signal<Trend>, provider: Signal<Option<String>>) -> impl IntoView {
    // The bar hovered or focused, whose figures show over the chart (in the browser only).
    let active = RwSignal::new(None::<usize>);
    let figures = Memo::new(move |_| trend.with(|t| provider.with(|p| t.counts(p.as_deref()))));
    let drawing = Memo::new(move |_| figures.with(|c| Layout::of(c)));
    let periods = Memo::new(move |_| {
        trend.with(|t| {
            (0..t.bars.len())
                .map(|i| bar_period(t.step, t.bars[i].start, t.bar_end(i)))
                .collect::<Vec<_>>()
        })
    });
    let labels = Memo::new(move |_| {
        trend.with(|t| {
            let every = t.bars.len().div_ceil(TIME_LABELS).max(1);
            (t.bars.iter().enumerate())
                .map(|(i, bar)| (i % every == 0).then(|| bar_label(t.step, bar.start)))
                .collect::<Vec<_>>()
        })
    });
    move || {
        if figures.with(|c| c.iter().all(|c| c.generations() == 0)) {
            return Either::Left(view! {
                <p class="empty" data-testid="trend-empty">{empty_text(provider.get().as_deref())}</p>
            });
        }
        let (counts, layout) = (figures.get(), drawing.get());
        let labels = labels.get();
        let cost_line = layout.cost_line();
        let tooltip = move || {
            let index = active.get()?;
            let c = figures.with(|c| c.get(index).copied())?;
            let shape = drawing.with(|l| l.bars.get(index).cloned())?;
            let period = periods.with(|p| p.get(index).cloned())?;
            // Placed over its bar, kept inside the chart. Set through the CSS object model,
            // which the page's Content-Security-Policy allows where a style attribute is not.
            let left = ((shape.x + shape.width / 2.0) / WIDTH * 100.0).clamp(12.0, 88.0);
            Some(view! {
                <div class="trend-tip" role="status" data-testid="trend-tip" style:left=format!("{left:.1}%")>
                    <strong>{period}</strong>
                    <span><i class="swatch swatch-ok"></i>{format!("Succeeded {}", count(c.succeeded))}</span>
                    <span><i class="swatch swatch-bad"></i>{format!("Failed {}", count(c.failed))}</span>
                    <span><i class="swatch swatch-pending"></i>{format!("Pending {}", count(c.pending))}</span>
                    <span><i class="swatch swatch-cost"></i>{format!("Cost {}", dollars(c.cost))}</span>
                </div>
            })
        };
        Either::Right(view! {
            // Scrolls sideways on a phone rather than shrinking its text out of reach.
            <div class="trend-scroll"><div class="trend-chart">
                <svg
                    viewBox=format!("0 0 {WIDTH} {HEIGHT}")
                    role="group"
                    aria-label="Generations and cost over time; each bar can be focused"
                    data-testid="trend-svg"
                >
                    <g class="trend-axis" aria-hidden="true">
                        {layout.count_ticks.iter().map(|(y, label)| view! {
                            <line x1=LEFT x2=WIDTH - RIGHT y1=*y y2=*y class="trend-grid"/>
                            <text x=LEFT - 6.0 y=*y dy="0.32em" text-anchor="end">{label.clone()}</text>
                        }).collect_view()}
                        {layout.cost_ticks.iter().map(|(y, label)| view! {
                            <text x=WIDTH - RIGHT + 6.0 y=*y dy="0.32em" class="trend-cost-label">{label.clone()}</text>
                        }).collect_view()}
                        {layout.bars.iter().zip(&labels).filter_map(|(bar, label)| {
                            let label = label.clone()?;
                            Some(view! {
                                <text x=bar.x + bar.width / 2.0 y=HEIGHT - 8.0 text-anchor="middle">{label}</text>
                            })
                        }).collect_view()}
                    </g>
                    {layout.bars.iter().zip(periods.get()).enumerate().map(|(index, (bar, period))| {
                        let summary = bar_summary(&period, &counts[index]);
                        let label = summary.clone();
                        let [ok, bad, pending] = bar.parts;
                        view! {
                            <g
                                class="trend-bar"
                                tabindex="0"
                                role="img"
                                aria-label=label
                                data-testid="trend-bar"
                                on:mouseenter=move |_| active.set(Some(index))
                                on:mouseleave=move |_| active.set(None)
                                on:focus=move |_| active.set(Some(index))
                                on:blur=move |_| active.set(None)
                            >
                                <title>{summary}</title>
                                // The whole column answers the pointer, not just its bar.
                                <rect x=bar.x y=TOP width=bar.width height=PLOT_HEIGHT class="trend-hit"/>
                                <rect x=bar.x y=ok.0 width=bar.width height=ok.1 class="trend-ok"/>
                                <rect x=bar.x y=bad.0 width=bar.width height=bad.1 class="trend-bad"/>
                                <rect x=bar.x y=pending.0 width=bar.width height=pending.1 class="trend-pending"/>
                            </g>
                        }
                    }).collect_view()}
                    <polyline points=cost_line class="trend-cost" aria-hidden="true"/>
                    {layout.bars.iter().map(|bar| view! {
                        <circle cx=bar.x + bar.width / 2.0 cy=bar.cost_y r="2.5" class="trend-cost-point" aria-hidden="true"/>
                    }).collect_view()}
                </svg>
                {tooltip}
            </div></div>
            <details class="trend-table">
                <summary>"Show as a table"</summary>
                <div class="table-scroll">
                    <table class="stacking" data-testid="trend-table">
                        <thead>
                            <tr>
                                <th scope="col">"Period"</th>
                                <th scope="col" class="num">"Succeeded"</th>
                                <th scope="col" class="num">"Failed"</th>
                                <th scope="col" class="num">"Pending"</th>
                                <th scope="col" class="num">"Cost"</th>
                            </tr>
                        </thead>
                        <tbody>
                            {counts.iter().zip(periods.get()).map(|(c, period)| view! {
                                <tr>
                                    <th scope="row">{period}</th>
                                    <td class="num" data-label="Succeeded">{count(c.succeeded)}</td>
                                    <td class="num" data-label="Failed">{count(c.failed)}</td>
                                    <td class="num" data-label="Pending">{count(c.pending)}</td>
                                    <td class="num key" data-label="Cost">{dollars(c.cost)}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                </div>
            </details>
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_are_round_with_at_most_five_steps() {
        assert_eq!(axis(0, 1), (1, 1), "an empty chart still has a scale");
        assert_eq!(axis(3, 1), (1, 3));
        assert_eq!(axis(7, 1), (2, 8));
        assert_eq!(axis(10, 1), (2, 10));
        assert_eq!(axis(11, 1), (5, 15));
        assert_eq!(axis(26, 1), (10, 30));
        assert_eq!(axis(1_234, 1), (500, 1_500));
        assert_eq!(
            axis(5_000, 10_000),
            (10_000, 10_000),
            "cost: a cent at least"
        );
        assert_eq!(axis(123_456_789, 10_000), (50_000_000, 150_000_000));
    }

    fn counts(succeeded: i64, failed: i64, pending: i64, dollars: i64) -> TrendCounts {
        TrendCounts {
            succeeded,
            failed,
            pending,
            cost: Money::from_micros(dollars * 1_000_000),
        }
    }

    #[test]
    fn bars_stack_from_the_axis_and_scale_to_the_tallest() {
        let layout = Layout::of(&[counts(6, 2, 2, 4), counts(0, 0, 0, 0), counts(3, 0, 0, 8)]);
        let bottom = TOP + PLOT_HEIGHT;
        let [ok, bad, pending] = layout.bars[0].parts;
        // 10 generations on an axis up to 10: a full-height bar.
        assert!(
            (ok.0 + ok.1 - bottom).abs() < 1e-9,
            "succeeded sits on the axis"
        );
        assert!((ok.1 - 0.6 * PLOT_HEIGHT).abs() < 1e-9);
        assert!(
            (bad.0 + bad.1 - ok.0).abs() < 1e-9,
            "failed on top of succeeded"
        );
        assert!((pending.0 - TOP).abs() < 1e-9, "pending reaches the top");
        assert_eq!(layout.bars[1].parts.map(|p| p.1), [0.0; 3]);
        assert!(
            (layout.bars[2].cost_y - TOP).abs() < 1e-9,
            "$8 on an axis up to $8"
        );
        assert!((layout.bars[0].cost_y - (TOP + PLOT_HEIGHT / 2.0)).abs() < 1e-9);
        let slot = PLOT_WIDTH / 3.0;
        assert!((layout.bars[1].x - layout.bars[0].x - slot).abs() < 1e-9);
        assert_eq!(layout.count_ticks.first().map(|t| t.1.as_str()), Some("0"));
        assert_eq!(layout.count_ticks.last().map(|t| t.1.as_str()), Some("10"));
        assert_eq!(
            layout.cost_ticks.last().map(|t| t.1.as_str()),
            Some("$8.00")
        );
        assert_eq!(layout.cost_line().split(' ').count(), 3);
    }

    #[test]
    fn periods_name_the_repeated_hour_by_its_offset() {
        let at = |text: &str| DateTime::parse_from_rfc3339(text).unwrap();
        assert_eq!(
            bar_period(
                TrendStep::Hour,
                at("2026-11-01T01:00:00-04:00"),
                at("2026-11-01T01:00:00-05:00")
            ),
            "1 Nov 01:00–01:00 (UTC-04:00)"
        );
        assert_eq!(
            bar_period(
                TrendStep::Day,
                at("2026-11-03T00:00:00+01:00"),
                at("2026-11-04T00:00:00+01:00")
            ),
            "Tue 3 Nov 2026"
        );
        assert_eq!(
            bar_label(TrendStep::Day, at("2026-11-03T00:00:00+01:00")),
            "Nov 3"
        );
        assert_eq!(
            bar_label(TrendStep::Hour, at("2026-11-03T14:00:00+01:00")),
            "14:00"
        );
    }
}
