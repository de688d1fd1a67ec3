import type { ReactNode } from "react";

import { Table, TableBody, TableCell, TableHead, TableHeader, TableRow } from "@/components/ui/table";
import { cn } from "@/lib/utils";

/** A table of items, one row each, whose last column holds the item's actions and stays in
 * view (sticky) when the table scrolls sideways on a narrow screen. */
export function ActionTable<T extends { id: string }>({
  testId,
  head,
  items,
  cells,
  actions,
  actionsClassName,
}: {
  testId: string;
  /** The header cells of every column but the actions. */
  head: ReactNode;
  items: T[];
  /** An item's cells, in the order of `head`. */
  cells: (item: T) => ReactNode;
  actions: (item: T) => ReactNode;
  actionsClassName?: string;
}) {
  return (
    <Table data-testid={testId}>
      <TableHeader>
        <TableRow>
          {head}
          <TableHead className="sticky right-0 bg-card">
            <span className="sr-only">Actions</span>
          </TableHead>
        </TableRow>
      </TableHeader>
      <TableBody>
        {items.map((item) => (
          <TableRow key={item.id}>
            {cells(item)}
            <TableCell className={cn("sticky right-0 bg-card text-right", actionsClassName)}>{actions(item)}</TableCell>
          </TableRow>
        ))}
      </TableBody>
    </Table>
  );
}
