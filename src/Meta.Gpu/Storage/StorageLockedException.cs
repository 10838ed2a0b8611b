namespace Meta.Gpu.Storage;

/// <summary>A storage folder another writer holds (<see cref="StorageRootLock"/>).</summary>
public sealed class StorageLockedException(string message, Exception? inner = null) : IOException(message, inner);
