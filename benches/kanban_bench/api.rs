//! A thin REST client over one shared connection pool. Every non-2xx answer is an error that
//! carries the status and the start of the body.

use std::time::Duration;

use serde_json::Value;

/// Result of one request: the response size in bytes, or a description of what went wrong.
pub type Outcome = Result<usize, String>;

/// Longest a single request may take before it counts as an error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// One `reqwest::Client` (cheap to clone: the pool is shared) and the server's base URL.
#[derive(Clone)]
pub struct Api {
    client: reqwest::Client,
    base: String,
}

impl Api {
    /// A client whose pool keeps `pool` idle connections, so `pool` workers never reconnect.
    pub fn new(base: &str, pool: usize) -> Result<Api, String> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(pool)
            .tcp_nodelay(true)
            .connect_timeout(Duration::from_secs(5))
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Api { client, base: base.to_owned() })
    }

    /// GET `path`, reading the whole body.
    pub async fn get(&self, path: &str) -> Outcome {
        finish(self.client.get(format!("{}{path}", self.base)).send().await).await.map(|body| body.len())
    }

    /// POST `body` as JSON to `path`, reading the whole answer.
    pub async fn post(&self, path: &str, body: &Value) -> Outcome {
        let req = self.client.post(format!("{}{path}", self.base)).json(body);
        finish(req.send().await).await.map(|body| body.len())
    }

    /// GET `path` and parse the JSON answer.
    pub async fn get_json(&self, path: &str) -> Result<Value, String> {
        parse(&finish(self.client.get(format!("{}{path}", self.base)).send().await).await?)
    }

    /// POST `body` to `path` and parse the JSON answer.
    pub async fn post_json(&self, path: &str, body: &Value) -> Result<Value, String> {
        let req = self.client.post(format!("{}{path}", self.base)).json(body);
        parse(&finish(req.send().await).await?)
    }
}

async fn finish(sent: reqwest::Result<reqwest::Response>) -> Result<Vec<u8>, String> {
    let resp = sent.map_err(|e| format!("request failed: {e}"))?;
    let status = resp.status();
    let body = resp.bytes().await.map_err(|e| format!("{status}, reading the body failed: {e}"))?;
    if status.is_success() {
        return Ok(body.to_vec());
    }
    let text = String::from_utf8_lossy(&body);
    Err(format!("{status}: {}", text.chars().take(500).collect::<String>()))
}

fn parse(body: &[u8]) -> Result<Value, String> {
    serde_json::from_slice(body).map_err(|e| format!("bad JSON answer: {e}"))
}
