import { Link } from "react-router-dom";

import { EmptyState } from "@/components/EmptyState";

export function NotFoundPage() {
  return (
    <EmptyState title="Page not found" className="mt-12">
      Go back to the <Link to="/" className="text-primary underline">Playground</Link>.
    </EmptyState>
  );
}
