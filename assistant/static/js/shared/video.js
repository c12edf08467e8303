// Opening a consult room and a join link on the clinical API's video service (/video).
export async function joinLink(client, target) {
  let room;
  try {
    room = await client.post("/video/rooms", target);
  } catch (error) {
    if (error.status !== 403) throw error;
    const [[kind, id]] = Object.entries(target);  // patients look an existing room up instead
    room = await client.get("/video/rooms", { [kind]: id });
  }
  const token = await client.post(`/video/rooms/${room.id}/tokens`, {});
  return token.joinUrl;
}
