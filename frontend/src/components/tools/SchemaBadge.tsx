import { Badge } from "@/components/ui/badge";

/** Whether a column's output followed the JSON schema of the run (server-checked). */
export function SchemaBadge({ valid, error }: { valid?: boolean | null; error?: string | null }) {
  if (valid === undefined || valid === null) return null;
  return (
    <Badge variant={valid ? "secondary" : "destructive"} title={error ?? "The output follows the schema"} data-testid="schema-badge">
      {valid ? "schema ✓" : "schema ✗"}
    </Badge>
  );
}
