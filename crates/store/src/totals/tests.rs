//! The totals' own arithmetic and statements; on real SQLite and PostgreSQL databases, every
//! change moving them exactly (`changes`) and tier moves after the commit (`pending_moves`).

mod changes;
mod pending_moves;

use super::*;

#[test]
fn buckets_are_quarter_hours_and_days_also_before_1970() {
    let minute = 60_000_000;
    assert_eq!(bucket_floor(0, QUARTER), 0);
    assert_eq!(bucket_floor(14 * minute, QUARTER), 0);
    assert_eq!(bucket_floor(15 * minute, QUARTER), 15 * minute);
    assert_eq!(bucket_floor(-1, QUARTER), -15 * minute);
    assert_eq!(bucket_ceil(1, QUARTER), 15 * minute);
    assert_eq!(bucket_ceil(15 * minute, QUARTER), 15 * minute);
    assert_eq!(bucket_ceil(-1, QUARTER), 0);
    assert_eq!(bucket_floor(DAY + 5, DAY), DAY);
    assert_eq!(bucket_ceil(DAY + 5, DAY), 2 * DAY);
}

#[test]
fn the_migrations_give_the_rebuild_its_statements() {
    let statements: Vec<_> = fill_statements().collect();
    assert_eq!(statements.len(), 12);
    assert!(statements[0].starts_with("INSERT INTO generation_totals"));
    assert!(statements[3].starts_with("UPDATE users SET last_generation_at"));
    assert!(statements[4].starts_with("INSERT INTO activity_totals"));
    assert!(statements[5].starts_with("INSERT INTO latency_totals"));
    assert!(statements[6..9]
        .iter()
        .all(|s| s.starts_with("INSERT INTO grand_totals")));
    assert!(statements[9].starts_with("UPDATE generations"));
    assert!(statements[10].starts_with("INSERT INTO user_totals"));
    assert!(statements[11].starts_with("INSERT INTO error_group_totals"));
}

#[test]
fn each_rebuild_statement_is_told_by_its_verb_and_table() {
    let told: Vec<String> = fill_statements().map(what_it_does).collect();
    assert_eq!(told[0], "filling generation totals");
    assert_eq!(told[3], "updating users");
    assert_eq!(told[9], "updating generations");
    assert_eq!(told[10], "filling user totals");
    assert_eq!(
        what_it_does("DELETE FROM user_totals"),
        "emptying user totals"
    );
}

#[test]
fn a_change_is_the_new_contribution_minus_the_old() {
    let pending = Contribution {
        user_id: "u1",
        created_at: 0,
        provider: "Flux",
        status: Status::Pending,
        credits: 3,
        cost_micros: 0,
        tier: Tier::Free,
        refund: None,
        completed_at: None,
        error_group: None,
    };
    let failed = Contribution {
        status: Status::Failed,
        cost_micros: 10,
        refund: Some((3, QUARTER)),
        error_group: Some("Out of memory"),
        ..pending
    };
    let mut deltas = Deltas::default();
    deltas.generation(&pending, -1);
    deltas.generation(&failed, 1);
    let counts = deltas.generations[&(QUARTER, 0, "Flux".to_owned(), "free")];
    assert_eq!(
        counts,
        GenerationCounts {
            generations: 0,
            succeeded: 0,
            failed: 1,
            cost_micros: 10,
            consumed: -3,
            unrefunded: 0,
            over_refunded: 0,
        },
        "the refund gives back what was charged"
    );
    assert_eq!(
        deltas.generations[&(DAY, 0, "Flux".to_owned(), "free")],
        counts
    );
    assert_eq!(deltas.refunds[&(QUARTER, QUARTER)], 1);
    assert_eq!(deltas.refunds[&(DAY, 0)], 1);
    let group = |span| (span, 0, "Out of memory".to_owned(), "Flux".to_owned());
    assert_eq!(
        (
            deltas.error_groups[&group(DAY)],
            deltas.error_groups[&group(QUARTER)]
        ),
        (1, 1),
        "only the failure counts in its group"
    );
    assert_eq!(deltas.error_groups.len(), 2);
}

#[test]
fn reconciliation_counts_failures_without_refund_and_refunds_over_the_charge() {
    let unrefunded = Contribution {
        user_id: "u1",
        created_at: 0,
        provider: "Flux",
        status: Status::Failed,
        credits: 3,
        cost_micros: 0,
        tier: Tier::Free,
        refund: None,
        completed_at: None,
        error_group: Some("Out of memory"),
    };
    // Its credits corrected to 2 after a refund of 3.
    let over_refunded = Contribution {
        status: Status::Succeeded,
        credits: 2,
        refund: Some((3, QUARTER)),
        ..unrefunded
    };
    let mut deltas = Deltas::default();
    deltas.generation(&unrefunded, 1);
    deltas.generation(&over_refunded, 1);
    let counts = deltas.generations[&(DAY, 0, "Flux".to_owned(), "free")];
    assert_eq!((counts.unrefunded, counts.over_refunded), (1, 1));
    assert_eq!(counts.consumed, 3 + 2 - 3);
}
