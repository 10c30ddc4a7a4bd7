//! The Workato API client: base URL, auth, timeout and user agent, built
//! once; one method per endpoint; paging, error mapping, the per-group
//! budget and retries. It knows nothing of metrics: it reports each request
//! to an [`Observer`].
//!
//! This file is the folder's table of contents; it holds no code. From the
//! bottom up:
//!
//! - `group`: the [`Route`]s the client calls, each in one of Workato's
//!   endpoint groups ([`Group`]); `outcome`: what Workato said to an action.
//! - `options`: timeouts, retry policy and the request [`Observer`].
//! - `decode`: lenient decoding of lists, objects and error bodies;
//!   `wire`: Workato's JSON per resource, turned into the snapshot's model.
//! - `transport`: the [`Client`] and how one request is sent and retried;
//!   `build`: the client built from its settings (URL, [`Auth`], budget).
//! - One file per API area, each adding its methods to [`Client`]:
//!   `workspace`, `recipes`, `jobs`, `connections`, `api_platform`,
//!   `properties`, `customers` (an Embed admin workspace's); `probe`
//!   is the one cheap read per group of `check`.
//!
//! [`Auth`]: crate::config::Auth

mod api_platform;
mod build;
mod connections;
mod customers;
mod decode;
mod group;
mod jobs;
mod options;
mod outcome;
mod place;
mod probe;
mod properties;
mod recipes;
mod transport;
mod wire;
mod workspace;

pub use customers::MAX_CUSTOMER_PAGES;
pub use group::{Group, Route};
pub use jobs::{JobsQuery, LIST_JOBS};
pub use options::{ClientOptions, MAX_REPLY_BYTES, NoObserver, Observer};
pub use outcome::ActionOutcome;
pub use recipes::{MAX_RECIPES, RecipeList, decode_recipes};
pub use transport::Client;
pub use workato_api::{Budget, MAX_HOLD};
