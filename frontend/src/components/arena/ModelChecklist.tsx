import { Label } from "@/components/ui/label";
import { $api } from "@/lib/api";

interface Props {
  picked: string[];
  onChange: (picked: string[]) => void;
}

/** Local models as checkboxes: the battle draws two of the ones ticked. */
export function ModelChecklist({ picked, onChange }: Props) {
  const models = $api.useQuery("get", "/api/v1/models");
  const local = models.data?.local ?? [];
  const toggle = (id: string, on: boolean) => onChange(on ? [...picked, id] : picked.filter((m) => m !== id));
  return (
    <fieldset className="space-y-1">
      <legend className="text-sm font-medium">Models in the draw (pick at least two)</legend>
      <div className="grid gap-1 sm:grid-cols-2">
        {local.map((m) => (
          <div key={m.id} className="flex items-center gap-2">
            <input
              type="checkbox"
              id={`arena-pick-${m.id}`}
              className="h-4 w-4 accent-primary"
              checked={picked.includes(m.id)}
              onChange={(e) => toggle(m.id, e.target.checked)}
            />
            <Label htmlFor={`arena-pick-${m.id}`} className="truncate font-normal">
              {m.id}
            </Label>
          </div>
        ))}
      </div>
    </fieldset>
  );
}
