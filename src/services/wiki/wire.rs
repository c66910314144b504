//! The MediaWiki Action API and Extension:OAuth on Wikimedia's wikis, as pure messages:
//! `build_*` functions return a [`WireRequest`](crate::egress::wire::WireRequest), `parse_*`
//! functions read a [`WireResponse`](crate::egress::wire::WireResponse). No I/O, no clock, no
//! randomness: PKCE verifiers, OAuth `state`, CSRF tokens and continuation values come in as
//! arguments.
//!
//! Conventions every request follows (protocols.md §4):
//! - `format=json&formatversion=2&errorformat=plaintext&maxlag=5` on every api.php call, so
//!   booleans are real booleans, lists are arrays and errors are `errors:[{code,text,…}]`;
//! - writes are POST with `assert=user`, every parameter in the body and the CSRF token last,
//!   never in the query string;
//! - credentials ([`WikiAuth`]) travel as a sensitive header, never in a URL.
//!
//! Every parser first runs the shared envelope check ([`check_envelope`]): an HTTP status other
//! than 2xx, a `MediaWiki-API-Error` header, an `errors`/`error` member, a `maxlag` error or a
//! formatversion=1 shape is a typed [`WikiError`], so a 200 is never trusted alone.
//!
//! Layout: `common` (auth, secrets, continuation, request and JSON helpers), `error`
//! ([`WikiError`] and its codes), `envelope`, `oauth` (OAuth 2 on the meta wiki), `session` (bot
//! password login, cookies, CSRF token), `edit`, `query` (imageinfo, filearchive,
//! globaluserinfo, exturlusage, search), `sitematrix`, `admin` (delete, revisiondelete).

mod admin;
mod common;
mod edit;
mod envelope;
mod error;
mod oauth;
mod query;
mod session;
mod sitematrix;
mod upload;

pub use admin::{
    Delete, DeleteOutcome, RevisionDelete, RevisionDeleteOutcome, RevisionDeleteType, RevisionFields,
    SuppressMode, build_delete, build_revision_delete, parse_delete, parse_revision_delete,
    validate_archive_name,
};
pub use common::{Continue, Limit, SecretText, WikiAuth};
pub use edit::{
    CaptchaAnswer, CaptchaChallenge, CreatePolicy, Edit, EditMode, EditOutcome, SavedEdit, build_edit,
    parse_edit,
};
pub use envelope::{Envelope, Warning, check_envelope};
pub use error::{ApiCode, FailedItem, LoginError, OAuthErrorCode, WikiError};
pub use oauth::{
    OAuthProfile, OAuthTokens, authorize_url, build_profile, build_token_exchange, build_token_refresh,
    endpoint as oauth_endpoint, parse_callback, parse_profile, parse_token_response, pkce_challenge,
};
pub use query::{
    ArchivedFile, ExtUrlPage, ExtUrlQuery, ExtUrlRow, FileArchivePage, FileArchiveSelect, FileInfo,
    FileStatus, FileVersion, GlobalAccount, GlobalUser, GlobalUserInfo, GlobalUserRef, ImageInfoPage,
    SearchHit, SearchPage, SearchQuery, WikiBlock, build_exturlusage, build_filearchive,
    build_globaluserinfo, build_imageinfo, build_search, parse_exturlusage, parse_filearchive,
    parse_globaluserinfo, parse_imageinfo, parse_search,
};
pub use session::{
    LoginOutcome, SessionCookies, build_csrf_token, build_login, build_login_token, parse_csrf_token,
    parse_login, parse_login_token,
};
pub use sitematrix::{Language, Site, SiteMatrix, build_sitematrix, parse_sitematrix};
pub use upload::{Uploaded, build_upload, parse_upload};
