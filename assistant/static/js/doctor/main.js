// Doctor console: the live escalation queue and, for the chosen case, the patient's record.
import { makeClient } from "../shared/api.js";
import { $ } from "../shared/dom.js";
import { pageReady, startPage } from "../shared/page.js";
import { TaskQueue } from "../shared/queue.js";
import { showRecord } from "./record.js";

async function main() {
  const started = await startPage("doctor");
  if (!started) return;
  const client = makeClient(started.config.clinical_url, started.session.token);
  const queue = new TaskQueue({
    client, kind: "doctor-escalation", statuses: ["requested", "accepted", "in-progress"],
    list: $("#queue"), status: $("#queue-status"),
    onSelect: (task) => showRecord($("#record"), client, task),
  });
  await queue.load();
  queue.follow();
  addEventListener("langchange", () => queue.render());
  pageReady();
}

main();
