// The package's classes as users get them: wasm-bindgen's `Denoiser` and `Session` behind a
// guard that keeps their promises after `free()`. wasm-bindgen's own glue answers a call on a
// freed object by throwing from inside wasm ("null pointer passed to rust"), which skips the
// module's stack clean-up; a few hundred such calls corrupt the whole module. Here a freed
// object rejects every call, forever, without entering wasm, and no method ever throws
// synchronously.

/** An Error shaped as the module's own: `name` "MnistDaeError" and a stable `code`. */
export function daeError(code, message) {
  return Object.assign(new Error(message), { name: 'MnistDaeError', code });
}

/** A class of `name` with `Shape`'s static factories and methods, whose instances can be freed.
 *  `rawFor(key, args)` gives (or promises) the wasm-bindgen class a static call runs on: one
 *  module's, or whichever build the call's options pick (www/mnist-dae.js). */
function guardClass(name, Shape, rawFor) {
  const raws = new WeakMap();
  class Guarded {
    constructor() {
      throw daeError('invalid_input', `${name}: expected ${name}.create(), got new ${name}()`);
    }

    /** Releases the model's memory; every later call rejects with code "freed". */
    free() {
      const raw = raws.get(this);
      raws.set(this, null);
      raw?.free();
    }

    [Symbol.dispose]() { this.free(); }
  }
  Object.defineProperty(Guarded, 'name', { value: name });
  const getters = Object.entries(Object.getOwnPropertyDescriptors(Shape.prototype)).filter(([, d]) => d.get);
  const adopt = (raw) => {
    const guarded = Object.create(Guarded.prototype);
    raws.set(guarded, raw);
    // Live while the object is (a model moves to the CPU when its GPU fails); a freed object
    // keeps saying where it last ran.
    const last = {};
    for (const [key] of getters) {
      last[key] = raw[key];
      Object.defineProperty(guarded, key, {
        enumerable: true,
        get() {
          const live = raws.get(guarded);
          if (live) last[key] = live[key];
          return last[key];
        },
      });
    }
    return guarded;
  };
  for (const key of Object.getOwnPropertyNames(Shape)) {
    if (typeof Shape[key] !== 'function' || key.startsWith('__')) continue;
    Guarded[key] = (...args) => {
      const call = (Raw) => Promise.resolve(Raw[key](...args)).then((r) => (r instanceof Raw ? adopt(r) : r));
      try {
        // One module: called at once, as wasm-bindgen's own class would be.
        const Raw = rawFor(key, args);
        return typeof Raw === 'function' ? call(Raw) : Promise.resolve(Raw).then(call);
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(Shape.prototype))) {
    if (key === 'constructor' || key === 'free' || key.startsWith('__') || typeof d.value !== 'function') continue;
    Guarded.prototype[key] = function guardedMethod(...args) {
      const raw = raws.get(this);
      if (!raw) {
        return Promise.reject(daeError('freed', `${name}.${key}: expected a live ${name}, got one that was freed (free() was called)`));
      }
      try {
        return Promise.resolve(raw[key](...args));
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }
  return Guarded;
}

/** The public API over one wasm-bindgen module's exports. */
export function guarded(raw) {
  return guardedOver(raw, (name) => raw[name]);
}

/** The public API shaped as `shape`'s exports, each static call running on the class that
 *  `pick(className, staticName, args)` gives or promises (both builds share one shape). */
export function guardedOver(shape, pick) {
  return Object.fromEntries(['Denoiser', 'Session'].map((name) =>
    [name, guardClass(name, shape[name], (key, args) => pick(name, key, args))]));
}
