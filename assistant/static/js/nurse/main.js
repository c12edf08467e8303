// Nurse console: the live review queue on the left, the selected summary on the right.
import { makeClient } from "../shared/api.js";
import { $ } from "../shared/dom.js";
import { pageReady, startPage } from "../shared/page.js";
import { TaskQueue } from "../shared/queue.js";
import { showReview } from "./review.js";

async function main() {
  const started = await startPage("nurse");
  if (!started) return;
  const client = makeClient(started.config.clinical_url, started.session.token);
  const queue = new TaskQueue({
    client, kind: "nurse-review", statuses: ["requested", "on-hold"],
    list: $("#queue"), status: $("#queue-status"),
    onSelect: (task) => showReview($("#review"), client, task),
  });
  await queue.load();
  queue.follow();
  addEventListener("langchange", () => queue.render());
  pageReady();
}

main();
