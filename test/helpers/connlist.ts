/** Does a connlist `conn` ("All Connections", "TCP 1-21,23-2378,UDP 53") admit protocol/port? */
export function admits(conn: string, protocol: string, port: number): boolean {
  if (conn === 'All Connections') return true;
  let current = '';
  for (const part of conn.split(',')) {
    const m = /^(?:(TCP|UDP|SCTP) )?(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) continue;
    if (m[1]) current = m[1];
    if (current === protocol && port >= Number(m[2]) && port <= Number(m[3] ?? m[2])) return true;
  }
  return false;
}
