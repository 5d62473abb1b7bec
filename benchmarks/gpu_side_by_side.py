"""GPU side-by-side: cornu vs Keras 3 (JAX backend) in one process; epoch times from a
callback inside one fit (no per-call data transfer counted)."""
import json, os, sys, time
os.environ["KERAS_BACKEND"] = "jax"
import numpy as np, jax
import cornu
try:
    import keras
except Exception as e:  # noqa
    keras = None; print("keras unavailable:", e)
from cornu.datasets import mnist
print("devices", jax.devices(), "jax", jax.__version__, flush=True)
(x, y), (xt, yt) = mnist.load_data()
x = x.reshape(-1, 784).astype('float32') / 255; xt = xt.reshape(-1, 784).astype('float32') / 255
y1 = np.eye(10, dtype='float32')[y]; yt1 = np.eye(10, dtype='float32')[yt]

def timer_cls(base):
    class T(base):
        def on_epoch_begin(self, epoch, logs=None): self.t = time.perf_counter()
        def on_epoch_end(self, epoch, logs=None): self.times.append(time.perf_counter() - self.t)
    return T

def mlp(lib):
    L = lib.layers
    return lib.Sequential([(keras.Input if lib is keras else cornu.Input)(shape=(784,)), L.Dense(500, activation='sigmoid'), L.Dense(500, activation='sigmoid'), L.Dense(10, activation='softmax')])

def cnn(lib):
    L = lib.layers
    return lib.Sequential([(keras.Input if lib is keras else cornu.Input)(shape=(28, 28, 1)), L.Conv2D(32, (3, 3), activation='relu'), L.MaxPooling2D((2, 2)), L.Conv2D(64, (3, 3), activation='relu'), L.MaxPooling2D((2, 2)), L.Flatten(), L.Dropout(0.5), L.Dense(10, activation='softmax')])

def run(lib, build, bs, n, epochs, xx, yy, xte, yte):
    lib.utils.set_random_seed(0)
    m = build(lib)
    m.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    T = timer_cls(keras.callbacks.Callback if lib is keras else cornu.callbacks.Callback)
    t = T(); t.times = []
    t0 = time.perf_counter()
    m.fit(xx[:n], yy[:n], batch_size=bs, epochs=epochs, verbose=0, callbacks=[t])
    total = time.perf_counter() - t0
    acc = m.evaluate(xte, yte, verbose=0)[1]
    steady = float(np.median(t.times[1:])) * 60000 / n
    return dict(first=t.times[0], steady_per60k=steady, total=total, acc=float(acc), epochs=epochs)

which = sys.argv[1] if len(sys.argv) > 1 else "main"
results = []
if which == "main":
    confs = [("mlp", 1, 6000, 3), ("mlp", 10, 6000, 4), ("mlp", 100, 60000, 5), ("mlp", 1000, 60000, 5), ("cnn", 128, 60000, 3)]
    for name, bs, n, ep in confs:
        for lib in ([cornu, keras] if keras else [cornu]):
            try:
                if name == "mlp":
                    r = run(lib, mlp, bs, n, ep, x, y1, xt, yt1)
                else:
                    r = run(lib, cnn, bs, n, ep, x.reshape(-1, 28, 28, 1), y1, xt.reshape(-1, 28, 28, 1), yt1)
            except Exception as e:  # noqa
                r = dict(error=repr(e)[:300])
            r.update(lib=lib.__name__, model=name, batch=bs, n=n)
            print(json.dumps(r), flush=True); results.append(r)
    # the lecture: 20 epochs at batch 100, one fit
    cornu.utils.set_random_seed(0)
    m = mlp(cornu); m.compile(loss='categorical_crossentropy', optimizer='adam', metrics=['accuracy'])
    m.fit(x[:1000], y1[:1000], batch_size=100, epochs=1, verbose=0)  # warm the compile cache
    t0 = time.perf_counter(); m.fit(x, y1, batch_size=100, epochs=20, verbose=0); tot = time.perf_counter() - t0
    r = dict(lib="cornu", model="lecture 20 epochs batch 100 (one fit)", seconds=tot, acc=float(m.evaluate(xt, yt1, verbose=0)[1]))
    print(json.dumps(r), flush=True); results.append(r)
else:
    for bs, n in ((1, 6000), (100, 60000)):
        r = run(cornu, mlp, bs, n, 3, x, y1, xt, yt1)
        r.update(lib="cornu", unroll=os.environ.get("CORNU_SCAN_UNROLL"), batch=bs)
        print(json.dumps(r), flush=True); results.append(r)
out = os.environ.get("OUT")
if out:
    with open(os.path.join(out, f"gpu-{which}-{os.environ.get('CORNU_SCAN_UNROLL', 'auto')}.json"), "w") as f:
        json.dump(results, f, indent=1)
