import { describe, expect, it } from 'vitest';
import { xml } from './svg-export.js';

describe('SVG export escaping', () => {
  it('turns hostile cluster text into inert XML text', () => {
    expect(xml('<img src=x onerror=alert(1)>')).toBe('&lt;img src=x onerror=alert(1)&gt;');
    expect(xml(`"quoted" & 'single'`)).toBe('&quot;quoted&quot; &amp; &apos;single&apos;');
    expect(xml('a\u0000b\u001bc\nd')).toBe('abc\nd');
  });
});
