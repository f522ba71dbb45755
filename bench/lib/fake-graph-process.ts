/**
 * A fake Microsoft Graph in its own process for the pull benchmark, so the benchmark's memory
 * figures are orgsync's alone. argv: users groups membersPerGroup pageSize. Prints its base URL,
 * then takes commands on stdin: `suspend N` (the first N users) answers `ok`.
 */
import { createInterface } from 'node:readline';
import { FakeGraph } from '../../test/helpers/fake-graph.js';

const [users, groups, perGroup, pageSize] = process.argv.slice(2).map(Number) as [number, number, number, number];
const graph = await new FakeGraph().start();
graph.pageSize = pageSize;
for (let i = 0; i < users; i++) {
  graph.addUser({ id: `u-${i}`, displayName: `User ${i}`, givenName: 'User', surname: String(i), userPrincipalName: `user${i}@bench.example`, mail: `user${i}@bench.example`, accountEnabled: true });
}
for (let g = 0; g < groups; g++) {
  const members: string[] = [];
  for (let k = 0; k < perGroup; k++) members.push(`u-${(g * perGroup + k) % users}`);
  graph.addGroup(`g-${g}`, `Group ${g}`, members);
}
process.stdout.write(`${graph.url}\n`);
for await (const line of createInterface({ input: process.stdin })) {
  const [cmd, n] = line.split(' ');
  if (cmd === 'suspend') for (let i = 0; i < Number(n); i++) graph.updateUser(`u-${i}`, { accountEnabled: false });
  process.stdout.write('ok\n');
}
