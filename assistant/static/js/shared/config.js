// Where the clinical API is, and the idle timeout: read once from the assistant (`GET /v1/config`).
let cached = null;

export async function loadConfig() {
  if (!cached) {
    const response = await fetch("/v1/config", { cache: "no-store" });
    if (!response.ok) throw new Error(`config ${response.status}`);
    cached = await response.json();
  }
  return cached;
}
