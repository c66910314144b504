//! `GET /audit`: the auditor's view of the log (chain state, entries, filters); each view is
//! itself an audit entry.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

use super::case_handlers::on_store;
use super::error::HttpError;
use super::handlers::{RequestContext, html};
use crate::audit::{Action, Outcome};
use crate::audit_log::{self, AuditFilter, SCAN_LIMIT};
use crate::pages::audit::{ChainState, render};
use crate::store::StoreError;

/// `GET /audit[?staff=…&action=…&case=…&from=…&to=…&before=…][&verify=now]`.
pub(super) async fn show(context: &RequestContext<'_>) -> Result<Response<Full<Bytes>>, HttpError> {
    let viewer = context.viewer()?;
    let (filter, ignored) = AuditFilter::from_query(|name| context.query.get(name).map(str::to_owned));
    let verify = context.query.get("verify") == Some("now");
    // Recorded before anything is shown: a view that cannot be audited shows nothing.
    let what = if verify { "viewed the audit log and verified the chain" } else { "viewed the audit log" };
    context.audit(Action::ViewAudit, filter.case, Outcome::Done, what.to_owned()).await?;
    let before = filter.before;
    let (scanned, more, entries, head, checkpoint, verified_now) = on_store(context, move |store| {
        let (scanned, more) = store.audit_before(before, SCAN_LIMIT)?;
        let (entries, head) = store.head()?;
        let checkpoint = store.checkpoint_text()?;
        let verified_now = verify.then(|| store.verify().map(|v| v.entries).map_err(|err| err.to_string()));
        Ok::<_, StoreError>((scanned, more, entries, head, checkpoint, verified_now))
    })
    .await?;
    let log = audit_log::select(&filter, scanned, more);
    let chain = ChainState { entries, head: head.to_string(), checkpoint, verified_now };
    Ok(html(StatusCode::OK, render(viewer, &chain, &filter, &ignored, &log)))
}
