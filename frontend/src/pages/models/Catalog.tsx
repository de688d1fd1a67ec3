export function CatalogSection() {
  return null;
}
