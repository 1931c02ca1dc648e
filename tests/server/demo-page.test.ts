/**
 * The demo page in real headless Chromium (Debian's /usr/bin/chromium driven by playwright-core):
 * upload a photo and see the translated output beside it; pick a digit and a seed and see the grid.
 * Skips, saying so, where chromium is not installed (.ci/run installs it).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { colourMixModel, imageManifest, rotateAndInvert, tempModelsDir, writeModel } from '../helpers/image-models.ts';
import { convLabelGenerator, writeModelFolder } from '../helpers/generator-models.ts';
import { startTestServer, type TestServer } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) console.warn(`demo page test skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

/** Where a screenshot of the page after both actions is kept, for a human to look at. */
const SCREENSHOT = process.env.DEMO_SCREENSHOT;

describe.skipIf(!hasChromium)('demo page in headless Chromium', { timeout: 30_000 }, () => {
  let server: TestServer;
  let context: BrowserContext;
  let page: Page;
  let scratch: string;

  beforeAll(async () => {
    const modelsDir = tempModelsDir();
    writeModel(modelsDir, 'photo-invert', imageManifest('photo-invert'), colourMixModel('NCHW', rotateAndInvert([-1, 1])));
    const digits = convLabelGenerator({ name: 'digits' });
    await writeModelFolder(modelsDir, digits.manifest, digits.onnx);
    server = await startTestServer(modelsDir);
    scratch = mkdtempSync(path.join(os.tmpdir(), 'ganserve-chromium-'));
    context = await chromium.launchPersistentContext(path.join(scratch, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
      viewport: { width: 1200, height: 800 },
    });
    page = context.pages()[0] ?? (await context.newPage());
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  /** Natural size of an <img> once it has loaded a source. */
  async function loadedImageSize(selector: string): Promise<{ width: number; height: number }> {
    await page.waitForFunction(
      (s) => {
        const img = document.querySelector<HTMLImageElement>(s);
        return Boolean(img?.src && img.complete && img.naturalWidth > 0);
      },
      selector,
      { timeout: 20_000 },
    );
    return page.$eval(selector, (img) => ({
      width: (img as HTMLImageElement).naturalWidth,
      height: (img as HTMLImageElement).naturalHeight,
    }));
  }

  it('lists the models in the two sections', async () => {
    await page.goto(`${server.url}/`);
    await expect
      .poll(() => page.$$eval('#translate-model option', (o) => o.map((x) => (x as HTMLOptionElement).value)))
      .toEqual(['photo-invert']);
    expect(await page.$$eval('#generate-model option', (o) => o.map((x) => (x as HTMLOptionElement).value))).toEqual(['digits']);
    expect(await page.$$eval('#generate-label option', (o) => o.length)).toBe(10);
  });

  it('uploads a photo and shows input and translated output side by side', async () => {
    const photo = path.join(scratch, 'photo.jpg');
    const gradient = Buffer.alloc(90 * 60 * 3);
    for (let i = 0; i < gradient.length; i++) gradient[i] = (i * 7) % 256;
    writeFileSync(
      photo,
      await sharp(gradient, { raw: { width: 90, height: 60, channels: 3 } })
        .jpeg()
        .toBuffer(),
    );
    await page.setInputFiles('#translate-file', photo);
    await page.click('#translate-run');
    expect(await loadedImageSize('#translate-input')).toEqual({ width: 90, height: 60 });
    expect(await loadedImageSize('#translate-output')).toEqual({ width: 90, height: 60 });
    await expect.poll(() => page.textContent('#translate-status')).toMatch(/done in \d+ ms \(90x60\)/);
  });

  it('generates a grid for a digit and a seed', async () => {
    await page.selectOption('#generate-label', '3');
    await page.fill('#generate-seed', '1234');
    await page.fill('#generate-count', '9');
    await page.click('#generate-run');
    // 9 images of 28 px at scale 4 → a 3 × 3 grid of 112 px tiles.
    const size = await loadedImageSize('#generate-output');
    expect(size.width).toBeGreaterThanOrEqual(3 * 112);
    expect(size.height).toBeGreaterThanOrEqual(3 * 112);
    await expect.poll(() => page.textContent('#generate-status')).toContain('seed 1234 · 9 images');
    if (SCREENSHOT) await page.screenshot({ path: SCREENSHOT, fullPage: true });
  });

  it('shows the problem detail when a request fails', async () => {
    const notAnImage = path.join(scratch, 'notes.txt');
    writeFileSync(notAnImage, 'not an image at all');
    await page.setInputFiles('#translate-file', notAnImage);
    await page.click('#translate-run');
    await expect.poll(() => page.getAttribute('#translate-status', 'class')).toContain('error');
    expect(await page.textContent('#translate-status')).toMatch(/^4\d\d /);
  });

  it('asks for the API key when the server requires one, then works with it', async () => {
    const guarded = await startTestServer(server.config.modelsDir, { API_KEYS: 'demo-key' });
    try {
      await page.goto(`${guarded.url}/`);
      await page.evaluate(() => localStorage.clear());
      await page.reload();
      await expect.poll(() => page.textContent('#translate-status')).toMatch(/^cannot list models: 401/);
      await page.click('.key summary');
      await page.fill('#api-key', 'demo-key');
      await page.dispatchEvent('#api-key', 'change');
      await expect.poll(() => page.$$eval('#generate-model option', (o) => o.length)).toBe(1);
      await page.click('#generate-run');
      await expect.poll(() => page.textContent('#generate-status')).toMatch(/^seed \d+/);
    } finally {
      await page.evaluate(() => localStorage.clear());
      await guarded.close();
    }
  });

  it('renders the API docs in Swagger UI from /openapi.json and runs a request from the page', async () => {
    await page.goto(`${server.url}/docs`);
    const op = page.locator('.opblock-get', { has: page.locator('.opblock-summary-path[data-path="/v1/models"]') });
    await op.locator('.opblock-summary').first().click();
    // "Try it out" is on from the start (tryItOutEnabled), so the operation shows Execute at once.
    await op.locator('button.execute').click();
    await expect.poll(() => op.locator('.live-responses-table').first().textContent(), { timeout: 20_000 }).toContain('"photo-invert"');
  });
});
