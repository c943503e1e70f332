//! Any bytes as a line of `usage-monitor import` (the ingest API parses each entry with the
//! same `parse_event`): never a panic, and an accepted event keeps the format's rules.

#![no_main]

use libfuzzer_sys::fuzz_target;
use usage_monitor_model::event::*;

fn assert_text(text: &str, max_len: usize) {
    assert!(!text.trim().is_empty() && text.len() <= max_len && !text.contains('\0'));
}

fn assert_time(micros: i64) {
    assert!((EARLIEST_TIME..END_OF_TIMES).contains(&micros));
}

fuzz_target!(|bytes: &[u8]| {
    let Some(Ok(event)) = parse_line(bytes) else {
        return;
    };
    match event {
        Event::User(user) => {
            assert_text(&user.id, MAX_ID_LEN);
            assert!((0..=MAX_CREDITS).contains(&user.credits));
            if let Some(email) = &user.email {
                assert!(email.len() <= MAX_NAME_LEN && !email.contains('\0'));
            }
        }
        Event::Generation(g) => {
            assert_text(&g.id, MAX_ID_LEN);
            assert_text(&g.user_id, MAX_ID_LEN);
            assert_text(&g.provider, MAX_NAME_LEN);
            if let Some(model) = &g.model {
                assert!(model.len() <= MAX_NAME_LEN && !model.contains('\0'));
            }
            assert!((0..=MAX_CREDITS).contains(&g.credits));
            assert!((0..=MAX_COST_DOLLARS * 1_000_000).contains(&g.cost.micros()));
            assert_time(g.created_at);
            if let Some(completed_at) = g.completed_at {
                assert_time(completed_at);
                assert!(completed_at >= g.created_at);
            }
            if let Some(error) = &g.error {
                assert!(error.chars().count() <= MAX_ERROR_CHARS + 1 && !error.contains('\0'));
            }
        }
        Event::Refund(refund) => {
            assert_text(&refund.generation_id, MAX_ID_LEN);
            assert!((1..=MAX_CREDITS).contains(&refund.credits));
            assert_time(refund.at);
        }
    }
});
