// The signed-in session: kept in sessionStorage only (gone when the tab closes), cleared on sign-out.
const KEY = "careline.session";

export function saveSession(body, username) {
  const expiresAt = Date.now() + Number(body.expires_in || 0) * 1000;
  const session = { token: body.access_token, role: body.role, patientId: body.patient_id || null, username, expiresAt };
  sessionStorage.setItem(KEY, JSON.stringify(session));
  return session;
}

export function currentSession() {
  let session = null;
  try { session = JSON.parse(sessionStorage.getItem(KEY) || "null"); } catch { session = null; }
  if (!session || !session.token || Date.now() >= session.expiresAt) return null;
  return session;
}

export function signOut(reason = "signed_out") {
  sessionStorage.clear();
  location.replace(`/?reason=${encodeURIComponent(reason)}`);
}

/** The page for `role`: anyone else goes back to sign-in (the APIs refuse them anyway). */
export function requireRole(role) {
  const session = currentSession();
  if (!session) { signOut("expired"); return null; }
  if (session.role !== role) { location.replace(`/?reason=wrong_role`); return null; }
  return session;
}

export const HOME = { patient: "/patient/", nurse: "/nurse/", doctor: "/doctor/" };
