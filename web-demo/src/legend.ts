// The class legend: a colour swatch, a visibility toggle and the share of pixels per class.

export interface LegendEntry {
  label: number;
  name: string;
  colour: [number, number, number];
  pixels: number;
  visible: boolean;
}

export function renderLegend(list: HTMLUListElement, entries: LegendEntry[], totalPixels: number, onToggle: (label: number, visible: boolean) => void): void {
  list.replaceChildren(
    ...entries.map((e) => {
      const li = document.createElement('li');
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = e.visible;
      box.disabled = e.label === 0;
      box.title = e.label === 0 ? 'background is never painted' : `show ${e.name}`;
      box.dataset.label = String(e.label);
      box.addEventListener('change', () => onToggle(e.label, box.checked));
      const swatch = document.createElement('span');
      swatch.className = 'swatch';
      swatch.style.background = `rgb(${e.colour.join(',')})`;
      const name = document.createElement('span');
      name.textContent = e.name;
      const pct = document.createElement('span');
      pct.className = 'pct';
      pct.textContent = totalPixels ? `${((100 * e.pixels) / totalPixels).toFixed(1)} %` : '';
      li.append(box, swatch, name, pct);
      return li;
    }),
  );
}
