//! The auditor's page: the state of the chain, then the log newest first with its filters.
//! Entries show who, when, what, which case and how it ended, with the entry's short
//! description; case content never appears in the log.

use maud::{Markup, html};

use super::cases::timestamp;
use super::layout::{Viewer, page};
use crate::audit::code;
use crate::audit_log::{ACTIONS, AuditFilter, AuditPage, actor_name};

/// What the page says about the chain as a whole.
pub struct ChainState {
    /// How many entries the log holds.
    pub entries: u64,
    /// The link of the last entry.
    pub head: String,
    /// The latest signed checkpoint's text, if the daemon keeps one.
    pub checkpoint: Option<String>,
    /// The result of a verification asked for on this view: `Ok(entries)` or what broke.
    pub verified_now: Option<Result<u64, String>>,
}

/// Renders `/audit`.
pub fn render(
    viewer: &Viewer<'_>,
    chain: &ChainState,
    filter: &AuditFilter,
    ignored: &[String],
    log: &AuditPage,
) -> Markup {
    let day = |d: Option<time::Date>| {
        d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())).unwrap_or_default()
    };
    let action_value = filter.action.clone().unwrap_or_default();
    let content = html! {
        section.chain aria-labelledby="chain-state" {
            h2 #chain-state { "The chain" }
            dl {
                dt { "Entries" } dd { (chain.entries) }
                dt { "Head" } dd { code.hash { (chain.head) } }
                dt { "Verified" }
                dd {
                    @match &chain.verified_now {
                        Some(Ok(entries)) => { strong { "Intact" } ": all " (entries) " entries, every case revision and the case list checked just now, without any key." }
                        Some(Err(broken)) => { span.error { "BROKEN: " (broken) } }
                        None => { "At the daemon's start (it refuses to start on a broken chain). " a href="/audit?verify=now" { "Verify the whole chain now" } }
                    }
                }
                dt { "Latest checkpoint" }
                dd {
                    @match &chain.checkpoint {
                        Some(text) => { pre.checkpoint { (text) } span.hint { "Keep a copy outside the appliance; `takedown audit verify --checkpoint FILE` proves the log still extends it." } }
                        None => { "None: set " code { "store.checkpoint_key" } " to have the daemon sign checkpoints." }
                    }
                }
            }
        }
        h2 { "Entries, newest first" }
        form.filters method="get" action="/audit" {
            label { "Staff " input type="text" name="staff" size="14" value=(filter.staff.clone().unwrap_or_default()); }
            label { "Action " select name="action" {
                option value="" selected[action_value.is_empty()] { "any" }
                @for action in ACTIONS {
                    @let value = code(&action);
                    option value=(value) selected[action_value == value] { (value) }
                }
            } }
            label { "Case " input type="text" name="case" size="34" value=(filter.case.map(|c| c.to_string()).unwrap_or_default()); }
            label { "From " input type="date" name="from" value=(day(filter.from)); }
            label { "To " input type="date" name="to" value=(day(filter.to)); }
            button type="submit" { "Filter" }
        }
        @for problem in ignored { p.warning { "Not applied: " (problem) } }
        @if let Some((newest, oldest)) = log.searched {
            p.hint { "Searched entries " (newest) " back to " (oldest) "." }
        }
        @if log.entries.is_empty() {
            p { "No entries here match." }
        } @else {
            div.scroll { table.audit-log {
                thead { tr { th { "Entry" } th { "When" } th { "Who" } th { "What" } th { "Case" } th { "Outcome" } th { "Details" } } }
                tbody {
                    @for (seq, entry) in &log.entries {
                        tr {
                            td { (seq) }
                            td.when { (timestamp(entry.at)) }
                            td { (actor_name(entry)) }
                            td { (code(&entry.action)) }
                            td { @if let Some(case) = entry.case { a.mono.case-id href={ "/cases/" (case) } title=(case) { (case.to_string().get(..8).unwrap_or_default()) "…" } } }
                            td { (code(&entry.outcome)) }
                            td.text { (entry.details) }
                        }
                    }
                }
            } }
        }
        @if let Some(before) = log.next_before {
            p.pages { a href={ "/audit?" (filter.query_before(before)) } { "Older entries" } }
        }
        p.hint { "Your viewing of this page is recorded in the audit log." }
    };
    page("Audit log", Some(viewer), content)
}
