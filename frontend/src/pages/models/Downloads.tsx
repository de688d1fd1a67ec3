export function DownloadsSection() {
  return null;
}
