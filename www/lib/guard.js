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

/** `Raw`'s static factories and methods on a class of `name` whose instances can be freed. */
function guardClass(Raw, name) {
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
  const getters = Object.entries(Object.getOwnPropertyDescriptors(Raw.prototype)).filter(([, d]) => d.get);
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
  for (const key of Object.getOwnPropertyNames(Raw)) {
    if (typeof Raw[key] !== 'function' || key.startsWith('__')) continue;
    Guarded[key] = (...args) => {
      try {
        return Promise.resolve(Raw[key](...args)).then((r) => (r instanceof Raw ? adopt(r) : r));
      } catch (e) {
        return Promise.reject(e);
      }
    };
  }
  for (const [key, d] of Object.entries(Object.getOwnPropertyDescriptors(Raw.prototype))) {
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
  return { Denoiser: guardClass(raw.Denoiser, 'Denoiser'), Session: guardClass(raw.Session, 'Session') };
}
