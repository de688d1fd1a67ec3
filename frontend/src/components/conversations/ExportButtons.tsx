import { useState } from "react";
import { Download } from "lucide-react";

import { ErrorAlert } from "@/components/ErrorAlert";
import { Button } from "@/components/ui/button";
import { downloadExport } from "@/lib/conversations";

/** Download the stored conversation as Markdown or JSON. */
export function ExportButtons({ conversationId, disabled }: { conversationId: string; disabled?: boolean }) {
  const [error, setError] = useState<unknown>(null);
  const run = (format: "markdown" | "json") => {
    setError(null);
    downloadExport(conversationId, format).catch(setError);
  };
  return (
    <>
      <Button variant="ghost" size="sm" disabled={disabled || !conversationId} onClick={() => run("markdown")}>
        <Download /> Markdown
      </Button>
      <Button variant="ghost" size="sm" disabled={disabled || !conversationId} onClick={() => run("json")}>
        <Download /> JSON
      </Button>
      <ErrorAlert error={error} title="Export failed" />
    </>
  );
}
