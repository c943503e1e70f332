//! A mark that the browser has made a page live: `<html data-hydrated="/admin/…?…">`, the
//! path and query of the page whose content hydrated last. Tests (and anyone scripting the
//! dashboard) wait for it instead of guessing how long hydration or a navigation takes.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// The attribute set on the document's root element once a page's content is live.
pub const HYDRATED_ATTRIBUTE: &str = "data-hydrated";

/// Placed last in a page's content: its effect runs only in the browser, once the content
/// before it has hydrated or, after a navigation in the page, has been drawn.
#[component]
pub fn Hydrated() -> impl IntoView {
    let location = use_location();
    Effect::new(move |_| {
        let path = location.pathname.get_untracked();
        let query = location.search.get_untracked();
        let query = query.trim_start_matches('?');
        let page = if query.is_empty() {
            path
        } else {
            format!("{path}?{query}")
        };
        if let Some(root) = document().document_element() {
            // Only fails for an invalid attribute name, which this constant is not.
            let _ = root.set_attribute(HYDRATED_ATTRIBUTE, &page);
        }
    });
}
