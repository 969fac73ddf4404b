// Preload (owned by the app engineer).
import { contextBridge, ipcRenderer } from 'electron';

contextBridge.exposeInMainWorld('api', {
  call: (name: string, input: unknown) => ipcRenderer.invoke(name, input),
});
