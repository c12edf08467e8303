// DICOMweb reads (PS3.18) on the clinical API: instance metadata and server-rendered frames.
const TAGS = { pixelSpacing: "00280030", center: "00281050", width: "00281051", rows: "00280010", columns: "00280011" };

export const studyUid = (study) =>
  (study.identifier || []).map((id) => id.value || "").find((v) => v.startsWith("urn:oid:"))?.slice(8) || study.id;

const first = (dataset, tag) => dataset?.[tag]?.Value?.[0];

export function instancePath(study, series, instance) {
  return `/dicomweb/studies/${study}/series/${series}/instances/${instance}`;
}

export async function instanceInfo(client, path) {
  const [dataset] = await client.get(`${path}/metadata`);
  const spacing = dataset?.[TAGS.pixelSpacing]?.Value;
  return {
    pixelSpacing: spacing ? spacing.map(Number) : null,  // [between rows (mm), between columns (mm)]
    center: first(dataset, TAGS.center) !== undefined ? Number(first(dataset, TAGS.center)) : null,
    width: first(dataset, TAGS.width) !== undefined ? Number(first(dataset, TAGS.width)) : null,
  };
}

/** A frame rendered by the server as PNG, windowed when `window` is given, as an ImageBitmap. */
export async function renderedFrame(client, path, window) {
  const params = window ? { window: `${window.center},${window.width}` } : {};
  const response = await client.call("GET", `${path}/frames/1/rendered`, { params, raw: true, headers: { Accept: "image/png" } });
  return createImageBitmap(await response.blob());
}

/** Length between two image points in millimetres (null when the image has no PixelSpacing). */
export function lengthMm(a, b, pixelSpacing) {
  if (!pixelSpacing) return null;
  const [rowSpacing, columnSpacing] = pixelSpacing;
  return Math.hypot((b.x - a.x) * columnSpacing, (b.y - a.y) * rowSpacing);
}
