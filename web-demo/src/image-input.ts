// Every way the page takes an image: file picker, drag-and-drop, paste, webcam frame. Each hands
// the page a Blob (or, for the webcam, a canvas-drawable frame) through one callback.

import { pixelsFromBlob, pixelsFromSource } from '../../runtime/web/pixels-from-image.ts';
import type { PixelImage } from '../../runtime/preprocess.ts';

export interface ImageInputElements {
  fileInput: HTMLInputElement;
  dropZone: HTMLElement;
  webcamStart: HTMLButtonElement;
  webcamCapture: HTMLButtonElement;
  video: HTMLVideoElement;
}

export type ImageHandler = (load: () => Promise<PixelImage>, name: string) => void;

function firstImage(items: Iterable<File>): File | null {
  for (const f of items) if (f.type.startsWith('image/')) return f;
  return null;
}

export function wireImageInputs(el: ImageInputElements, onImage: ImageHandler, onError: (msg: string) => void): void {
  const fromFile = (f: File) => onImage(() => pixelsFromBlob(f, f.name), f.name);

  el.fileInput.addEventListener('change', () => {
    const f = el.fileInput.files?.[0];
    if (f) fromFile(f);
    // Clear the choice so picking the same file again segments it again.
    el.fileInput.value = '';
  });

  // Drag-and-drop anywhere on the page; the stage shows where it lands.
  const stop = (e: Event) => {
    e.preventDefault();
    e.stopPropagation();
  };
  for (const type of ['dragenter', 'dragover']) {
    document.addEventListener(type, (e) => {
      stop(e);
      el.dropZone.classList.add('dragging');
    });
  }
  document.addEventListener('dragleave', (e) => {
    stop(e);
    if (e.target === document.documentElement || e.target === el.dropZone) el.dropZone.classList.remove('dragging');
  });
  document.addEventListener('drop', (e) => {
    stop(e);
    el.dropZone.classList.remove('dragging');
    const f = firstImage(e.dataTransfer?.files ?? []);
    if (f) fromFile(f);
    else onError('The dropped item is not an image file.');
  });

  document.addEventListener('paste', (e) => {
    const files: File[] = [];
    for (const item of e.clipboardData?.items ?? []) {
      const f = item.kind === 'file' ? item.getAsFile() : null;
      if (f) files.push(f);
    }
    const f = firstImage(files);
    if (f) {
      e.preventDefault();
      onImage(() => pixelsFromBlob(f, 'pasted image'), 'pasted image');
    }
  });

  let stream: MediaStream | null = null;
  el.webcamStart.addEventListener('click', async () => {
    if (stream) {
      for (const t of stream.getTracks()) t.stop();
      stream = null;
      el.video.hidden = true;
      el.webcamStart.textContent = 'Start webcam';
      el.webcamCapture.disabled = true;
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: true, audio: false });
    } catch (e) {
      onError(`No webcam: ${(e as Error).message}`);
      return;
    }
    el.video.srcObject = stream;
    el.video.hidden = false;
    await el.video.play();
    el.webcamStart.textContent = 'Stop webcam';
    el.webcamCapture.disabled = false;
  });
  el.webcamCapture.addEventListener('click', () => {
    const v = el.video;
    onImage(async () => pixelsFromSource(v, v.videoWidth, v.videoHeight), 'webcam frame');
  });
}
