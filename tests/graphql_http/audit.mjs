// Run graphql-http's server audits (the GraphQL over HTTP spec's MUSTs and SHOULDs) against one
// endpoint and print each result as JSON: [{id, name, status, reason}], status ok|warn|error.
// Usage: node audit.mjs http://127.0.0.1:8000/graphql
import { serverAudits } from "graphql-http";

const url = process.argv[2];
if (!url) {
  console.error("usage: node audit.mjs URL");
  process.exit(2);
}
const results = [];
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  results.push({ id: audit.id, name: audit.name, status: result.status, reason: result.reason });
}
process.stdout.write(JSON.stringify(results) + "\n");
